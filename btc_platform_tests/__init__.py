"""The test suite. Imported before conftest and every test module, so what is set here holds
before any of them imports XGBoost.

Several xdist workers (`make test`) share the cores: XGBoost's OpenMP threads then spin at
every barrier while their peers wait for a core, and training slows about 5x (two 2-thread
trainings side by side on 2 cores: 43 s each, against 8 s alone and 15 s each with passive
waits). Passive waits cost a training alone 1.6x, so they are set only beside other workers;
the CLI, Dagster and service processes the tests start inherit them.
"""

import os

if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
