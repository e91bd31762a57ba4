# Entry points. Every target runs as root on Debian; the PostgreSQL server runs as postgres.
.PHONY: demo test install cluster-start cluster-stop psql regress

# Install what is missing, build and install the extension, start a throwaway cluster under
# .run/, load the Chinook sample database and run the demo.
demo: install cluster-start
	bash scripts/demo.sh

# Run every test: Rust unit tests, the pg_regress suite and the demo as a smoke test.
test:
	bash scripts/test.sh

install:
	bash scripts/install-deps.sh
	bash scripts/install-extension.sh

cluster-start:
	bash scripts/cluster.sh start

cluster-stop:
	bash scripts/cluster.sh stop

# An interactive psql session on the demo cluster's chinook database.
psql:
	bash -c 'source scripts/env.sh && psql -d chinook'

# Only the pg_regress suite, against the installed extension (no build).
regress:
	bash scripts/regress.sh
