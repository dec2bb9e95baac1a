"""The detectors, registered in one place: each takes an Inspection and yields Detections."""
from collections.abc import Callable, Iterable

from service.detection.dormant import detect_silence
from service.detection.duplicate import detect_near_identical_content, detect_same_unit_platform
from service.detection.facts import Detection, Inspection
from service.detection.off_topic import detect_off_topic_posts
from service.detection.stop_declared import detect_stop_declared
from service.detection.unregistered import detect_discovered, detect_not_filed
from service.detection.unresponsive import detect_overdue_replies

Detector = Callable[[Inspection], Iterable[Detection]]

DETECTORS: tuple[Detector, ...] = (
    detect_silence,
    detect_stop_declared,
    detect_off_topic_posts,
    detect_same_unit_platform,
    detect_near_identical_content,
    detect_overdue_replies,
    detect_not_filed,
    detect_discovered,
)


def detect(inspection: Inspection) -> list[Detection]:
    return [detection for detector in DETECTORS for detection in detector(inspection)]
