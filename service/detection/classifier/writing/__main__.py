from service.detection.classifier.writing import main

main()
