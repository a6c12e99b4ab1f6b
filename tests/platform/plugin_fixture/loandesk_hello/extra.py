"""A second plugin in the same distribution that needs the first."""

from loandesk import sdk

PLUGIN = sdk.PluginInfo(
    name="hello_extra",
    title_zh="问候增强",
    title_en="Hello extra",
    version="1.0.0",
    depends_on=("hello",),
)
