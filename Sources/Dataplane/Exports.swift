// The value types of the data plane come with it: `import Dataplane` is
// enough to use RouteKey, NextHop, DataplaneState and the rest.
@_exported import DataplaneModel
