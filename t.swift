import Foundation
let p = "/tmp/rv/sock.ipc"
print(FileHandle(forWritingAtPath: p) as Any)
print(FileManager.default.createFile(atPath: p, contents: Data("{}\n".utf8)))
