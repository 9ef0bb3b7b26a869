#if canImport(Glibc)
    import Glibc
#endif

extension [UInt8] {
    /// Reserves room for `capacity` octets and, on Linux, asks the kernel to back the reserved
    /// memory with transparent huge pages (`madvise(MADV_HUGEPAGE)`).
    ///
    /// A full feed of N = 100,000 is 34 MB written into fresh memory: with 4 KiB pages that is
    /// 8,000 page faults, a fifth of the full render's time (`benchmarks/run --scenarios
    /// component`). The advice changes no contents and is dropped silently where the kernel
    /// refuses it (THP set to `never`, or another platform). Returns whether it was taken.
    @discardableResult
    mutating func reserveLargeCapacity(_ capacity: Int) -> Bool {
        reserveCapacity(capacity)
        #if canImport(Glibc)
            let reserved = self.capacity
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
