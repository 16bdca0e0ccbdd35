"""What a training process is told: its /opt/ml/input/config files and the SM_* environment of the training toolkit.

The local runtime runs every job on one host without GPUs, whatever InstanceCount asks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from local_runtime.sagemaker import containers
from local_runtime.sagemaker.containers import TrainingContainer
from local_runtime.sagemaker.training_input import JobLayout

HOST = "algo-1"
INSTANCE_GROUP = "homogeneousCluster"


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
    """The SM_* environment the sagemaker-training toolkit gives a training process (one host, no GPU)."""
    hyperparameters: Mapping[str, str] = job.hyper_parameters or {}
    user = containers.user_hyperparameters(hyperparameters)
    channels = sorted(channel["ChannelName"] for channel in job.input_data_config or [])
    channel_dirs = {name: str(layout.channel(name)) for name in channels}
    resources = resource_config(job)
    training_env = _training_env(layout, job, container, user, channel_dirs, resources)
    environment = {
        "SM_MODEL_DIR": str(layout.model),
        "SM_INPUT_DIR": str(layout.root / "input"),
        "SM_INPUT_CONFIG_DIR": str(layout.config),
        "SM_OUTPUT_DIR": str(layout.output),
        "SM_OUTPUT_DATA_DIR": str(layout.output_data),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(layout.output / "intermediate"),
        "SM_CHANNELS": json.dumps(channels),
        **{f"SM_CHANNEL_{name.upper()}": path for name, path in channel_dirs.items()},
        "SM_HPS": json.dumps(user),
        **{f"SM_HP_{key.upper()}": _env_value(value) for key, value in user.items()},
        "SM_HOSTS": json.dumps([HOST]),
        "SM_CURRENT_HOST": HOST,
        "SM_CURRENT_INSTANCE_TYPE": resources["current_instance_type"],
        "SM_CURRENT_INSTANCE_GROUP": INSTANCE_GROUP,
        "SM_MASTER_ADDR": HOST,
        "SM_IS_MASTER": "true",
        "SM_NUM_CPUS": str(training_env["num_cpus"]),
        "SM_NUM_GPUS": "0",
        "SM_NUM_NEURONS": "0",
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_LOG_LEVEL": "20",
        "SM_RESOURCE_CONFIG": json.dumps(resources),
        "SM_INPUT_DATA_CONFIG": json.dumps(training_env["input_data_config"]),
        "SM_FRAMEWORK_PARAMS": "{}",
        "SM_USER_ENTRY_POINT": training_env["user_entry_point"],
        "SM_MODULE_NAME": training_env["module_name"],
        "SM_MODULE_DIR": training_env["module_dir"],
        "SM_USER_ARGS": json.dumps(containers.script_arguments(hyperparameters)),
        "SM_TRAINING_ENV": json.dumps(training_env),
        "TRAINING_JOB_NAME": job.training_job_name,
        "TRAINING_JOB_ARN": job.arn,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "PYTHONUNBUFFERED": "1",
    }
    return {**environment, **(extra or {})}


def _training_env(
    layout: JobLayout,
    job: Any,
    container: TrainingContainer,
    user: Mapping[str, Any],
    channel_dirs: Mapping[str, str],
    resources: Mapping[str, Any],
) -> dict[str, Any]:
    """SM_TRAINING_ENV: the whole environment as one JSON object, as the toolkit's `Environment` reads it."""
    program = container.program or ""
    return {
        "additional_framework_parameters": {},
        "channel_input_dirs": dict(channel_dirs),
        "current_host": HOST,
        "current_instance_group": INSTANCE_GROUP,
        "current_instance_type": resources["current_instance_type"],
        "framework_module": None,
        "hosts": [HOST],
        "hyperparameters": user,
        "input_config_dir": str(layout.config),
        "input_data_config": input_data_config(job.input_data_config or []),
        "input_dir": str(layout.root / "input"),
        "instance_groups": [INSTANCE_GROUP],
        "is_master": True,
        "job_name": job.training_job_name,
        "log_level": 20,
        "master_hostname": HOST,
        "model_dir": str(layout.model),
        "module_dir": container.submit_directory or "",
        "module_name": program.removesuffix(".py"),
        "network_interface_name": "eth0",
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(layout.output_data),
        "output_dir": str(layout.output),
        "output_intermediate_dir": str(layout.output / "intermediate"),
        "resource_config": resources,
        "user_entry_point": program,
    }


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
