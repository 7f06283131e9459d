"""Client helpers for a tfft export behind TF Serving: request bodies in, Python objects out.

REST (port 8501)::

    import requests
    from tfft.serving import client
    body = client.rest_body(["What a film!"])                      # {"signature_name": ..., "instances": [...]}
    reply = requests.post(client.rest_url("localhost:8501", "imdb"), json=body).json()
    client.parse_rest(reply)                                       # [{"label": "positive", "probabilities": [...], ...}]

gRPC (port 8500, ``tensorflow-serving-api``)::

    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("localhost:8500"))
    client.parse_grpc(stub.Predict(client.grpc_request("imdb", ["What a film!"]), 10.0))

Raw-text signatures (``serving_default``) take ``text``; ``serve_ids`` takes ``input_ids`` and
``attention_mask``. String outputs come back as ``str``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence


def rest_url(host: str, model: str, version: Optional[int] = None) -> str:
    """``http://<host>/v1/models/<model>[/versions/<version>]:predict``."""
    path = f"/v1/models/{model}" + (f"/versions/{version}" if version is not None else "")
    return f"http://{host}{path}:predict"


def rest_body(texts: Sequence[str], *, signature: str = "serving_default", columnar: bool = False,
              inputs: Optional[Mapping[str, Sequence[Any]]] = None) -> dict[str, Any]:
    """A REST predict body: row format (``instances``) or columnar (``inputs``).

    ``inputs`` overrides the text input, e.g. ``{"input_ids": [[101, 2307, 102]], "attention_mask": [[1, 1, 1]]}``
    for ``serve_ids``.
    """
    columns = dict(inputs) if inputs is not None else {"text": list(texts)}
    if columnar:
        return {"signature_name": signature, "inputs": columns}
    n = len(next(iter(columns.values())))
    return {"signature_name": signature, "instances": [{k: v[i] for k, v in columns.items()} for i in range(n)]}


def parse_rest(reply: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per example from a REST reply in either format (``predictions`` or ``outputs``)."""
    if "error" in reply:
        raise ValueError(f"TF Serving returned an error: {reply['error']}")
    if "predictions" in reply:
        rows = reply["predictions"]
        return [row if isinstance(row, dict) else {"output": row} for row in rows]
    outputs = reply["outputs"]
    if not isinstance(outputs, dict):
        return [{"output": row} for row in outputs]
    n = len(next(iter(outputs.values())))
    return [{k: v[i] for k, v in outputs.items()} for i in range(n)]


def grpc_request(model: str, texts: Sequence[str], *, signature: str = "serving_default",
                 version: Optional[int] = None, inputs: Optional[Mapping[str, Any]] = None) -> Any:
    """A ``tensorflow_serving.apis.predict_pb2.PredictRequest`` for ``texts`` (or explicit ``inputs``)."""
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    columns = dict(inputs) if inputs is not None else {"text": np.asarray(list(texts), dtype=object)}
    for name, value in columns.items():
        array = np.asarray(value)
        if array.dtype.kind in "iu":
            array = array.astype(np.int32)
        request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
    return request


def parse_grpc(response: Any) -> list[dict[str, Any]]:
    """One dict per example from a ``PredictResponse``."""
    import tensorflow as tf

    columns = {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
    n = len(next(iter(columns.values())))
    return [{k: _plain(v[i]) for k, v in columns.items()} for i in range(n)]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.decode("utf-8") if isinstance(value, bytes) else value


def write_warmup(path: str, model: str, texts: Sequence[str], signature: str = "serving_default",
                 names: Sequence[str] = ("text",)) -> str:
    """TF Serving's warmup file (``assets.extra/tf_serving_warmup_requests``): one request per text
    batch, the texts filling every string input in ``names`` (``question`` and ``context`` for QA)."""
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    with tf.io.TFRecordWriter(path) as writer:
        for batch in (texts[:1], texts):
            columns = {name: np.asarray(list(batch), dtype=object) for name in names}
            request = grpc_request(model, batch, signature=signature, inputs=columns)
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
