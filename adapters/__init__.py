"""Platform adapters: translate platform events into invocations and messages back."""
