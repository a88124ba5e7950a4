"""A local Function Compute (FC 3.0) endpoint: `InvokeFunction`, `GetAsyncTask` and
`ListAsyncTasks` through the official SDK, each invocation run in a worker process."""

from emulator.fc.config import FunctionConfig
from emulator.fc.service import FunctionCompute
from emulator.fc.tasks import AsyncTask, TaskStatus

__all__ = ["AsyncTask", "FunctionCompute", "FunctionConfig", "TaskStatus"]
