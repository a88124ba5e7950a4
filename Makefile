# Shortcuts for dev.py, which sets up .venv itself and needs nothing but Python 3.10+.
# Extra arguments go in ARGS (demo takes none): `make test ARGS="-k deploy"`,
# `make emulator ARGS=--help`.

EVENT ?= events/timer.json
# Where `make invoke` sends EVENT: a seeded in-process emulator by default, so that trying a
# sample deletes nothing real. INVOKE_TARGET="--endpoint HOST:PORT ..." targets a running
# emulator; INVOKE_TARGET= targets real ICE with the credentials of your environment.
INVOKE_TARGET ?= --emulator
ARGS ?=

.PHONY: demo test emulator bench invoke

demo:
	python3 dev.py demo

test:
	python3 dev.py test $(ARGS)

emulator:
	python3 dev.py emulator $(ARGS)

bench:
	python3 dev.py bench $(ARGS)

invoke:
	python3 dev.py invoke $(EVENT) $(INVOKE_TARGET) $(ARGS)
