import ArgumentParser
import RunOptions

// The engine's enumerated options as CLI values: `--help` lists their cases, and a mistyped one
// is refused with the list.
extension InputFormat: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
