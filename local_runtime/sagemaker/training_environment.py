"""What a training process is told: its /opt/ml/input/config files and the SM_* environment of the training toolkit.

The local runtime runs every job on one host without GPUs, whatever InstanceCount asks.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from local_runtime.sagemaker import containers
from local_runtime.sagemaker.containers import TrainingContainer
from local_runtime.sagemaker.training_input import JobLayout

HOST = "algo-1"
INSTANCE_GROUP = "homogeneousCluster"
# The `sagemaker_<name>_enabled` framework parameters that put the job's instance group under a distribution.
_DISTRIBUTIONS = (
    "mpi", "parameter_server", "distributed_dataparallel", "pytorch_ddp", "pytorch_xla_multi_worker",
    "multi_worker_mirrored_strategy", "torch_distributed",
)  # fmt: skip


# The properties the toolkit's `to_env_vars` exports under their own name (SM_CURRENT_HOST, SM_MODULE_DIR, ...).
_COPIED_KEYS = (
    "current_host", "current_instance_type", "current_instance_group", "current_instance_group_hosts",
    "instance_groups", "instance_groups_dict", "distribution_instance_groups", "is_hetero", "module_name",
    "log_level", "framework_module", "input_dir", "input_config_dir", "output_dir", "num_cpus", "num_gpus",
    "num_neurons", "model_dir", "module_dir",
)  # fmt: skip


def write_config(layout: JobLayout, job: Any) -> None:
    """hyperparameters.json, resourceconfig.json and inputdataconfig.json, as SageMaker writes them."""
    config = layout.config
    (config / "hyperparameters.json").write_text(json.dumps(job.hyper_parameters or {}, indent=2))
    (config / "resourceconfig.json").write_text(json.dumps(resource_config(job), indent=2))
    (config / "inputdataconfig.json").write_text(json.dumps(input_data_config(job.input_data_config or []), indent=2))


def resource_config(job: Any) -> dict[str, Any]:
    """resourceconfig.json: one host, whatever InstanceCount asks (the local runtime runs one process)."""
    instance_type = (job.resource_config or {}).get("InstanceType", "ml.m5.large")
    return {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": [HOST],
        "instance_groups": [{"instance_group_name": INSTANCE_GROUP, "instance_type": instance_type, "hosts": [HOST]}],
        "network_interface_name": "eth0",
    }


def input_data_config(channels: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """inputdataconfig.json: each channel's content type, input mode and distribution."""
    config: dict[str, Any] = {}
    for channel in channels:
        source = channel.get("DataSource", {}).get("S3DataSource", {})
        entry = {
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def training_environment(
    *,
    layout: JobLayout,
    job: Any,
    region: str,
    container: TrainingContainer,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment the sagemaker-training toolkit gives an entry point (one host, no GPU).

    `Environment.to_env_vars`: each value a string as it is, anything else compact JSON with sorted keys; plus what
    the toolkit sets in its own environment first (SAGEMAKER_JOB_NAME, CURRENT_HOST, SAGEMAKER_REGION).
    """
    hyperparameters: Mapping[str, str] = job.hyper_parameters or {}
    user = containers.user_hyperparameters(hyperparameters)
    channels = sorted(channel["ChannelName"] for channel in job.input_data_config or [])
    training_env = _training_env(layout, job, container, {name: str(layout.channel(name)) for name in channels})
    toolkit = {
        "hosts": training_env["hosts"],
        "network_interface_name": training_env["network_interface_name"],
        "hps": user,
        "user_entry_point": training_env["user_entry_point"],
        "framework_params": training_env["additional_framework_parameters"],
        "resource_config": training_env["resource_config"],
        "input_data_config": training_env["input_data_config"],
        "output_data_dir": training_env["output_data_dir"],
        "channels": channels,
        **{key: training_env[key] for key in _COPIED_KEYS},
        "training_env": training_env,
        "user_args": containers.script_arguments(hyperparameters),
        "output_intermediate_dir": training_env["output_intermediate_dir"],
        **{f"channel_{name}": path for name, path in training_env["channel_input_dirs"].items()},
        **{f"hp_{key}": value for key, value in user.items()},
    }
    environment = {
        "SAGEMAKER_JOB_NAME": _env_value(containers.toolkit_parameter(hyperparameters, "sagemaker_job_name") or ""),
        "CURRENT_HOST": HOST,
        "SAGEMAKER_REGION": _env_value(containers.toolkit_parameter(hyperparameters, "sagemaker_region") or region),
        **{f"SM_{key.upper()}": _env_value(value) for key, value in toolkit.items()},
        "TRAINING_JOB_NAME": job.training_job_name,
        "TRAINING_JOB_ARN": job.arn,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "PYTHONUNBUFFERED": "1",
    }
    return {**environment, **(extra or {})}


def _training_env(
    layout: JobLayout, job: Any, container: TrainingContainer, channel_dirs: Mapping[str, str]
) -> dict[str, Any]:
    """SM_TRAINING_ENV: every property of the toolkit's `Environment`, as one JSON object."""
    hyperparameters: Mapping[str, str] = job.hyper_parameters or {}
    program = container.program or ""
    resources = resource_config(job)
    framework_params = containers.framework_parameters(hyperparameters)
    log_level = containers.toolkit_parameter(hyperparameters, "sagemaker_container_log_level")
    group = resources["instance_groups"][0]
    distributed = any(framework_params.get(f"sagemaker_{name}_enabled") for name in _DISTRIBUTIONS)
    framework = container.framework.framework if container.framework is not None else None
    return {
        "additional_framework_parameters": framework_params,
        "channel_input_dirs": dict(channel_dirs),
        "current_host": HOST,
        "current_instance_group": INSTANCE_GROUP,
        "current_instance_group_hosts": [HOST],
        "current_instance_type": resources["current_instance_type"],
        "distribution_hosts": [HOST] if distributed else [],
        "distribution_instance_groups": [INSTANCE_GROUP] if distributed else [],
        "framework_module": framework.training_module if framework is not None else None,
        "hosts": [HOST],
        "hyperparameters": containers.user_hyperparameters(hyperparameters),
        "input_config_dir": str(layout.config),
        "input_data_config": input_data_config(job.input_data_config or []),
        "input_dir": str(layout.root / "input"),
        "instance_groups": [INSTANCE_GROUP],
        "instance_groups_dict": {INSTANCE_GROUP: group},
        "is_hetero": False,
        "is_master": True,
        "is_modelparallel_enabled": None,
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": job.training_job_name,
        "log_level": log_level if log_level is not None else logging.INFO,
        "master_hostname": HOST,
        "model_dir": str(layout.model),
        "module_dir": container.submit_directory or str(layout.code),
        "module_name": program.removesuffix(".py"),
        "network_interface_name": "eth0",
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(layout.output_data),
        "output_dir": str(layout.output),
        "output_intermediate_dir": str(layout.output / "intermediate"),
        "resource_config": resources,
        "topology": [],
        "user_entry_point": program,
    }


def _env_value(value: Any) -> str:
    """The toolkit's `mapping.to_env_vars` value: a string as it is, None as empty, anything else compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
