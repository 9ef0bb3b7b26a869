#if canImport(Glibc)
    import Glibc
#endif

extension [UInt8] {
    /// Buffers advised to use huge pages are at least this large: glibc maps every allocation
    /// above its largest mmap threshold (32 MiB) on its own, so the advice goes away with the
    /// buffer instead of staying on heap memory that later holds other things.
    static var hugePageThreshold: Int { 32 << 20 }

    /// Reserves room for `capacity` octets and, on Linux, when that is at least
    /// `hugePageThreshold`, asks the kernel to back the reserved memory with transparent huge
    /// pages (`madvise(MADV_HUGEPAGE)`).
    ///
    /// A full feed of N = 100,000 is 34 MB written into fresh memory: with 4 KiB pages that is
    /// 8,000 page faults, a fifth of the full render's time (`benchmarks/run --scenarios
    /// component`). The advice changes no contents. Returns whether the kernel accepted the
    /// advice (it does even with THP set to `never`, where the advice has no effect); false on
    /// other platforms and for smaller buffers.
    @discardableResult
    mutating func reserveLargeCapacity(_ capacity: Int) -> Bool {
        reserveCapacity(capacity)
        #if canImport(Glibc)
            let reserved = self.capacity
            guard reserved >= Self.hugePageThreshold else { return false }
            return withUnsafeMutableBytes { bytes in
                guard let base = bytes.baseAddress else { return false }
                let hugePage = 2 << 20
                let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
                let end = (Int(bitPattern: base) + reserved) & ~(hugePage - 1)
                guard end > start else { return false }
                return madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) == 0
            }
        #else
            return false
        #endif
    }
}
