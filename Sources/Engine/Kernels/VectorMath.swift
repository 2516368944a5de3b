/// SIMD versions of the transcendental functions the layers need. The scalar libm calls
/// would dominate softmax and GELU otherwise.
public typealias Vec = SIMD16<Float>
public let vecWidth = 16

@inline(__always)
public func vexp(_ x: Vec) -> Vec {
    // Cephes-style: exp(x) = 2^n * exp(r), r in [-ln2/2, ln2/2], ln2 split in two parts.
    // The lower clamp keeps results normal (e^-80 ~ 1.8e-35): denormals are ~100x slower in
    // every later multiply, and below that the value is 0 for any softmax or tanh purpose.
    let clamped = vclamp(x, -80, 88.37)
    // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the low mantissa bits,
    // which avoids the generic (non-inlined) SIMD rounding and conversion initialisers.
    let shifted = clamped * 1.44269504088896341 + 12582912
    let n = shifted - 12582912
    var r = clamped - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let er = p * (r * r) + r + 1
    let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return er * unsafeBitCast(bits, to: Vec.self)
}

/// Lane-wise clamp. Written out because the standard library's generic pointwiseMin/Max
/// are sometimes left as calls inside large kernels.
@inline(__always)
public func vclamp(_ x: Vec, _ low: Float, _ high: Float) -> Vec {
    var r = x
    for i in 0..<vecWidth {
        let v = x[i] < low ? low : x[i]
        r[i] = v > high ? high : v
    }
    return r
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
        let v = load(x + i)
        for lane in 0..<vecWidth where v[lane] > best[lane] { best[lane] = v[lane] }
        i += vecWidth
    }
    var result = best.max()
    while i < n {
        result = max(result, x[i])
        i += 1
    }
    return result
}

extension SIMD16 where Scalar == Float {
    @inline(__always) public static func load(_ p: UnsafePointer<Float>) -> Self {
        UnsafeRawPointer(p).loadUnaligned(as: Self.self)
    }

    @inline(__always) public func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
    }
}
