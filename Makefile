# `sam build`'s build of every function in infra/template.yaml (BuildMethod: makefile):
# the project's packages with their bytecode (infra/aws/package.py says why), compiled by
# the functions' runtime version of Python.
PYTHON ?= python3.12

build-%:
	$(PYTHON) -m infra.aws.package "$(ARTIFACTS_DIR)"
