"""Re-export of the block environment (defined beside the VM, which reads it)."""

from hyperion.vm.environment import BlockEnv

__all__ = ["BlockEnv"]
