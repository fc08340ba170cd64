"""clusterwatch: the nightly cluster-monitoring pipeline (stages in flows/stages, support code in flows/support)."""

from flows.support.memory import configure_polars_allocator

configure_polars_allocator()     # before anything imports polars (flows.support.memory says why)
