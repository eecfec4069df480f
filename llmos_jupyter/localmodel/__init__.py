"""Local models in one package: loading their weights (weights.py) and the adapter folders fine-tuning writes
(adapters.py). The local provider serves them; llmos_jupyter.finetune trains them."""
