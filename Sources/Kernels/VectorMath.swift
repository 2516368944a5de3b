/// SIMD versions of the transcendental functions the layers need. The scalar libm calls
/// would dominate softmax and GELU otherwise.
public typealias Vec = SIMD16<Float>
public let vecWidth = 16

@inline(__always)
public func vexp(_ x: Vec) -> Vec {
    // Cephes-style: exp(x) = 2^n * exp(r), r in [-ln2/2, ln2/2], ln2 split in two parts.
    let clamped = x.clamped(lowerBound: Vec(repeating: -87.33), upperBound: Vec(repeating: 88.37))
    let n = (clamped * 1.44269504088896341).rounded(.toNearestOrEven)
    var r = clamped - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let er = p * (r * r) + r + 1
    let bits = (SIMD16<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
    return er * unsafeBitCast(bits, to: Vec.self)
}

@inline(__always)
public func vtanh(_ x: Vec) -> Vec {
    // tanh(x) = 1 - 2 / (exp(2x) + 1): exact limits at +-1 and an absolute error near 1e-7.
    let e = vexp(x * 2)
    return 1 - 2 / (e + 1)
}

/// Scalar fallbacks for loop tails, computed through the same SIMD code so results agree.
@inline(__always)
public func sexp(_ x: Float) -> Float { vexp(Vec(repeating: x))[0] }

@inline(__always)
public func stanh(_ x: Float) -> Float { vtanh(Vec(repeating: x))[0] }

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> Vec {
    UnsafeRawPointer(p).loadUnaligned(as: Vec.self)
}

@inline(__always)
func store(_ v: Vec, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec.self)
}

/// Sum of `n` floats.
@inline(__always)
public func vsum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec.zero
    var i = 0
    while i + vecWidth <= n {
        acc += load(x + i)
        i += vecWidth
    }
    var total = acc.sum()
    while i < n {
        total += x[i]
        i += 1
    }
    return total
}

/// Maximum of `n >= 1` floats.
@inline(__always)
public func vmax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var best = Vec(repeating: -.infinity)
    var i = 0
    while i + vecWidth <= n {
        best = pointwiseMax(best, load(x + i))
        i += vecWidth
    }
    var result = best.max()
    while i < n {
        result = max(result, x[i])
        i += 1
    }
    return result
}
