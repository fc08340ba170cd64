"""The sample generator and its oracle (the planted truth). Outside the runtime's import graph: only
`clusterwatch sample` and the tests import it."""
