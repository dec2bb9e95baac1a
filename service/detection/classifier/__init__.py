"""Off-topic classification of posts (发布与政务工作无关的社会信息、心灵鸡汤): a labelled
corpus written for this project, two backends behind one interface (transparent character
n-grams with curated phrase lists; multilingual sentence embeddings), versioned model
files, human labels that win over the model, and the training that learns from them."""
