# erpbridge image for docker-compose.yaml: the official Airflow image + our pinned requirements,
# the erpbridge provider, the DAGs and include/ (the simulators run from the same image).
# Keep the tag's Airflow version equal to the apache-airflow pin in requirements.txt
# (tests/test_deployment_files.py checks it).
FROM apache/airflow:3.3.2-python3.11

# The official image installs Python packages as the airflow user, never as root.
USER airflow

# Dependencies first, so editing code does not rebuild this layer. Pinning apache-airflow to the
# image's version (AIRFLOW_VERSION is set by the base image) stops pip from moving Airflow itself.
COPY --chown=airflow:root requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/airflow/requirements.txt

# The provider package (hooks, sync engines, ledger); its dependencies are the pins above.
COPY --chown=airflow:root pyproject.toml /opt/airflow/erpbridge-src/pyproject.toml
COPY --chown=airflow:root plugins/ /opt/airflow/erpbridge-src/plugins/
RUN pip install --no-cache-dir --no-deps /opt/airflow/erpbridge-src \
    && rm -rf /opt/airflow/erpbridge-src

# DAGs, and include/ for the simulators (python -m include.simulators, from /opt/airflow).
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root include/ /opt/airflow/include/
