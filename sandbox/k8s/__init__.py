"""The emulated Kubernetes API server the sandbox and the tests run (on kmock; real HTTP, a real kubeconfig).

    emulator.py        the API server (EmulatedCluster: in a thread; ``python -m sandbox.k8s serve``: a process)
    objects.py         object helpers: metadata, selectors, strategic merge patch, timestamps
    controllers.py     Deployment -> ReplicaSets -> Pods, DaemonSets; scheduler.py places the pods
    openapi.py, protobuf.py, tables.py   what kubectl needs: OpenAPI documents, protobuf bodies, Table output
    scenarios/         the clusters the checks are run against (NAME.yaml) and their loader
    process_driver.py  pods as real Aragora processes (ProcessDriver), for rollouts that really change releases

Nothing here imports tests/; tests/integration/conftest.py's ``k8s_cluster`` fixture starts EmulatedClusters.
"""
