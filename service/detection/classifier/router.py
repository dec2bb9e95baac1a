from fastapi import APIRouter, Request, Response, status

from service.auth import Editor, Reader
from service.db import SessionDep
from service.detection.classifier import service as classifier
from service.detection.classifier.schemas import (
    ClassifierRead, ClassifyRequest, ClassifyResponse, ClassifyResult, LabelCreate, ModelVerdict, PostLabelRead,
)  # fmt: skip
from service.detection.classifier.store import store_for

router = APIRouter(tags=["classifier"])


@router.post("/v1/classify", response_model=ClassifyResponse, summary="判断文本是否与政务工作无关")
def classify(body: ClassifyRequest, request: Request, _: Reader) -> ClassifyResponse:
    """对每条文本给出 `label`（on_topic / off_topic）、`score`（与政务无关的概率）和 `reasons`
    （决定判定的短语、字符片段，或最相近的已标注样本）。每批最多 1,000 条；空白文本和超长文本返回 422
    并指出是第几条；模型只读每条的前 2,000 字。"""
    settings = request.app.state.settings
    classifier.check_texts(body.texts, max_texts=settings.classify_max_texts, max_chars=settings.classify_max_chars)
    backend, version, verdicts = classifier.classify_texts(store=store_for(settings), texts=body.texts, threshold=settings.classifier_threshold)
    results = [ClassifyResult(label=v.label, score=v.score, reasons=v.reasons) for v in verdicts]
    return ClassifyResponse(results=results, backend=backend, model_version=version)


@router.get("/v1/classifier", response_model=ClassifierRead, summary="当前使用的分类模型")
def describe_classifier(request: Request, session: SessionDep, _: Reader) -> ClassifierRead:
    """正在使用的后端与模型版本、训练时间、在固定留出测试集上的指标，以及人工标注的数量。
    `zombiewatch classifier train` 写出新模型后，服务无需重启即改用新版本。"""
    settings = request.app.state.settings
    about = classifier.describe(
        session=session, store=store_for(settings), threshold=settings.classifier_threshold, min_score=settings.off_topic_min_score
    )
    return ClassifierRead(**about)


def _label_read(verdicts: classifier.PostVerdicts) -> PostLabelRead:
    human, model = verdicts.human, verdicts.model
    return PostLabelRead(
        post_id=verdicts.post.id, account_id=verdicts.post.account_id,
        label=human.label if human else None, labelled_by=human.labelled_by if human else None,
        labelled_at=human.labelled_at if human else None, effective_label=verdicts.effective_label,
        model=ModelVerdict(label=model.label, score=model.score, model_version=model.model_version, reasons=model.reasons) if model else None,
    )  # fmt: skip


def _verdicts(request: Request, session, post_id: int, principal) -> classifier.PostVerdicts:
    settings = request.app.state.settings
    return classifier.post_verdicts(
        session=session, store=store_for(settings), threshold=settings.classifier_threshold, post_id=post_id, scope=principal
    )


@router.get("/v1/posts/{id}/label", response_model=PostLabelRead, summary="帖子的人工标注与模型判定")
def get_post_label(id: int, request: Request, session: SessionDep, principal: Reader) -> PostLabelRead:
    """编辑的标注（如有）、当前模型的判定与依据，以及检测采用的判定 `effective_label`。"""
    return _label_read(_verdicts(request, session, id, principal))


@router.post("/v1/posts/{id}/label", response_model=PostLabelRead, summary="人工标注帖子是否与政务相关")
def label_post(id: int, body: LabelCreate, request: Request, session: SessionDep, principal: Editor) -> PostLabelRead:
    """编辑标注一条帖子：`on_topic`（与政务相关）或 `off_topic`（与政务工作无关）。人工标注总是优先于模型，
    下一次检测即按标注计入或排除；`zombiewatch classifier train` 会把标注加入训练。再次标注会覆盖之前的标注。"""
    classifier.label_post(session=session, post_id=id, label=body.label, scope=principal)
    return _label_read(_verdicts(request, session, id, principal))


@router.delete("/v1/posts/{id}/label", status_code=status.HTTP_204_NO_CONTENT, summary="撤销人工标注")
def remove_post_label(id: int, session: SessionDep, principal: Editor) -> Response:
    """撤销后该帖子重新以模型判定为准。"""
    classifier.remove_label(session=session, post_id=id, scope=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
