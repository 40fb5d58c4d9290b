"""The models: strict parsing and every rule, violations as (path, message) pairs."""

from __future__ import annotations

import pytest

import runai
from conftest import INFERENCE


def test_valid_documents_come_back_as_dicts() -> None:
    assert runai.validate("autoscaling", {"minReplicas": 2, "maxReplicas": 2}) == {"minReplicas": 2, "maxReplicas": 2}
    request = runai.models.inference(INFERENCE)
    assert request["spec"]["servingPort"]["container"] == 8000


def test_keyword_arguments_and_a_dict_combine() -> None:
    spec = runai.models.inference_spec({"image": "nginx"}, serving_port={"container": 80})
    assert spec == {"image": "nginx", "servingPort": {"container": 80}}


def test_every_broken_rule_is_reported_with_its_path() -> None:
    with pytest.raises(runai.ValidationError) as raised:
        runai.models.inference_spec(
            image="nginx",
            servingPort={"container": 70000},
            autoscaling={"minReplicas": 3, "maxReplicas": 2},
        )
    paths = [path for path, _ in raised.value.errors]
    assert "servingPort.container" in paths
    assert "autoscaling.maxReplicas" in paths
    assert all(isinstance(message, str) and message for _, message in raised.value.errors)
    assert "autoscaling.maxReplicas" in str(raised.value)


def test_unknown_fields_suggest_the_known_one() -> None:
    with pytest.raises(runai.ValidationError) as raised:
        runai.validate("autoscaling", minReplica=1)
    assert raised.value.errors == [("minReplica", "unknown field; did you mean `minReplicas`?")]


def test_wrong_types_name_the_field() -> None:
    with pytest.raises(runai.ValidationError) as raised:
        runai.validate("autoscaling", {"minReplicas": "one"})
    assert raised.value.errors[0][0] == "minReplicas"


def test_defaults_are_filled_in_when_asked() -> None:
    spec = runai.models.with_defaults("inference_spec", image="nginx", servingPort={"container": 80})
    assert "autoscaling" in spec
    with pytest.raises(runai.ConfigError):
        runai.models.with_defaults("autoscaling", {})


def test_unknown_kinds_and_non_dicts_are_config_errors() -> None:
    with pytest.raises(runai.ConfigError) as raised:
        runai.validate("pod", {})
    assert raised.value.field == "kind"
    with pytest.raises(runai.ConfigError):
        runai.validate("autoscaling", [1, 2])  # type: ignore[arg-type]
    assert "inference" in runai.model_kinds()
