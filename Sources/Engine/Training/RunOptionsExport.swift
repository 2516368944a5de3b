// The options of a run are declared in RunOptions (engine-free, so the coordinator can check
// them); every user of this module sees them as before.
@_exported import RunOptions
