import Checkpoint
import Foundation
import Kernels

/// A model read from a Hugging Face model directory, with what the loader saw.
public struct LoadedModel: Sendable {
    public let model: GPT2
    public let directory: String
    public let weightsFile: String
    public let format: TensorArchive.Format
    /// Tensors in the file that GPT-2 does not use (attention-mask buffers, other heads).
    public let ignoredTensors: [String]
    public let loadSeconds: Double
}

public enum ModelLoadError: Error, CustomStringConvertible {
    case config(ConfigError)
    case checkpoint(CheckpointError)
    case missingConfig(directory: String)
    case missingTensor(file: String, name: String)
    case shapeMismatch(file: String, name: String, expected: [Int], actual: [Int])
    case unsupported(file: String, reason: String)

    public var description: String {
        switch self {
        case let .config(error): return error.description
        case let .checkpoint(error): return error.description
        case let .missingConfig(directory): return "\(directory): no config.json (a Hugging Face model directory has one beside the weights)"
        case let .missingTensor(file, name): return "\(file): tensor '\(name)' is missing"
        case let .shapeMismatch(file, name, expected, actual):
            return "\(file): tensor '\(name)' has shape \(actual) but config.json implies \(expected)"
        case let .unsupported(file, reason): return "\(file): \(reason)"
        }
    }
}

public enum ModelLoader {
    /// Weight files in the order `transformers` prefers them.
    public static let weightFiles = ["model.safetensors", "pytorch_model.bin"]

    /// Loads `config.json` and the weights of a model directory as downloaded from the hub.
    public static func load(directory: String) throws(ModelLoadError) -> LoadedModel {
        let started = DispatchTime.now()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw .checkpoint(.io(path: directory, reason: "no such file or directory"))
        }
        guard isDirectory.boolValue else {
            throw .checkpoint(.io(path: directory, reason: "is a file; pass the model directory that holds it and config.json"))
        }
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configPath) else { throw .missingConfig(directory: directory) }
        let config: GPT2Config
        do { config = try GPT2Config.load(file: configPath) } catch { throw .config(error) }

        guard let weightsName = weightFiles.first(where: {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
        }) else {
            if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("model.safetensors.index.json")) {
                throw .unsupported(file: directory, reason: "sharded checkpoints (model.safetensors.index.json) are not supported")
            }
            throw .checkpoint(.missingModel(directory: directory, looked: weightFiles))
        }
        let weightsPath = (directory as NSString).appendingPathComponent(weightsName)
        let archive: TensorArchive
        do throws(CheckpointError) {
            archive = weightsName.hasSuffix(".safetensors")
                ? try SafeTensors.read(path: weightsPath) : try PyTorchCheckpoint.read(path: weightsPath)
        } catch { throw .checkpoint(error) }

        let (parameters, ignored) = try assign(archive: archive, config: config)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return LoadedModel(model: GPT2(config: config, parameters: parameters), directory: directory,
                           weightsFile: weightsPath, format: archive.format, ignoredTensors: ignored, loadSeconds: seconds)
    }

    /// Copies the archive's tensors into a parameter buffer, checking names and shapes.
    static func assign(archive: TensorArchive, config: GPT2Config) throws(ModelLoadError) -> (ParameterBuffer, [String]) {
        var byName: [String: TensorView] = [:]
        var ignored: [String] = []
        for tensor in archive.tensors {
            let name = tensor.name.hasPrefix("transformer.") ? String(tensor.name.dropFirst("transformer.".count)) : tensor.name
            byName[name] = tensor
        }
        let layout = ParameterLayout(config: config)
        let expected = Set(layout.slots.map(\.huggingFaceName))
        for tensor in archive.tensors {
            let name = tensor.name.hasPrefix("transformer.") ? String(tensor.name.dropFirst("transformer.".count)) : tensor.name
            if !expected.contains(name) { ignored.append(tensor.name) }
        }
        var views: [TensorView] = []
        for slot in layout.slots {
            guard let view = byName[slot.huggingFaceName] else {
                throw .missingTensor(file: archive.path, name: slot.huggingFaceName)
            }
            guard view.shape == slot.shape else {
                throw .shapeMismatch(file: archive.path, name: view.name, expected: slot.shape, actual: view.shape)
            }
            guard view.dtype.isConvertibleToFloat else {
                throw .checkpoint(.unsupportedDType(path: archive.path, tensor: view.name, dtype: view.dtype.rawValue))
            }
            views.append(view)
        }
        let parameters = ParameterBuffer(layout: layout, zeroed: false)
        let slots = layout.slots
        // Conversion can fail only on dtype, checked above, so the parallel copy cannot throw.
        Parallel.forEach(slots.count) { i in
            try? views[i].copyAsFloat32(into: parameters.slice(slots[i]), path: archive.path)
        }
        return (parameters, ignored)
    }

    /// Writes `model.safetensors` (names as `GPT2LMHeadModel` saves them, tied head omitted)
    /// and `config.json`, so that `transformers` and Cuentista both load the directory.
    public static func save(_ model: GPT2, to directory: String) throws(ModelLoadError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .checkpoint(.io(path: directory, reason: "cannot create directory: \(error.localizedDescription)"))
        }
        let parameters = model.parameters
        let tensors = parameters.layout.checkpointOrder.map { slot in
            SafeTensors.OutputTensor(name: "transformer." + slot.huggingFaceName, shape: slot.shape,
                                     values: UnsafeBufferPointer(parameters.slice(slot)))
        }
        do {
            try SafeTensors.write(tensors, metadata: ["format": "pt"], to: (directory as NSString).appendingPathComponent("model.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(model.config)
            try AtomicFile.write(data, to: (directory as NSString).appendingPathComponent("config.json"))
        } catch let error as CheckpointError {
            throw .checkpoint(error)
        } catch {
            throw .unsupported(file: directory, reason: "cannot encode config.json: \(error)")
        }
    }
}
