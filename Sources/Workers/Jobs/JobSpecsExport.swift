// The specifications are declared in JobSpecs (engine-free, shared with the coordinator); this
// module runs them, and its users see them as before.
@_exported import JobSpecs
