//! Physical memory: page frames holding real bytes. PA-RISC is big-endian, so
//! multi-byte values are stored most significant byte first.

use vipt_pte::PAGE_SIZE;

use crate::error::CacheError;
use crate::tracked::Tracked;

/// Physical memory of a fixed number of 4 KiB frames.
#[derive(Debug, Clone)]
pub struct PhysMem {
    bytes: Tracked<u8>,
    frames: u64,
}

/// Reads a big-endian value of `bytes.len()` (1, 2, 4 or 8) bytes.
#[inline]
pub(crate) fn read_be(bytes: &[u8]) -> u64 {
    match *bytes {
        [a] => u64::from(a),
        [a, b] => u64::from(u16::from_be_bytes([a, b])),
        [a, b, c, d] => u64::from(u32::from_be_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
        _ => bytes.iter().fold(0, |v, &b| (v << 8) | u64::from(b)),
    }
}

/// Writes the low `out.len()` bytes of `v`, big-endian.
#[inline]
pub(crate) fn write_be(out: &mut [u8], v: u64) {
    let n = out.len();
    out.copy_from_slice(&v.to_be_bytes()[8 - n..]);
}

/// Checks an access size and its natural alignment.
#[inline]
pub(crate) fn check_access(addr: u64, size: u32) -> Result<(), CacheError> {
    if !matches!(size, 1 | 2 | 4 | 8) {
        return Err(CacheError::BadSize(size));
    }
    if addr & (u64::from(size) - 1) != 0 {
        return Err(CacheError::Unaligned { va: addr, size });
    }
    Ok(())
}

impl PhysMem {
    /// `frames` zeroed frames, change-tracked in chunks of `1 << track_shift` bytes.
    pub(crate) fn new(frames: u64, track_shift: u32) -> PhysMem {
        PhysMem {
            bytes: Tracked::new((frames * PAGE_SIZE) as usize, 0, track_shift),
            frames,
        }
    }

    /// Number of frames.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.frames * PAGE_SIZE
    }

    fn check(&self, pa: u64, len: u64) -> Result<usize, CacheError> {
        if pa.checked_add(len).is_none_or(|end| end > self.size()) {
            return Err(CacheError::NoSuchFrame(pa));
        }
        Ok(pa as usize)
    }

    /// Loads a 1, 2, 4 or 8-byte big-endian value.
    pub fn load(&self, pa: u64, size: u32) -> Result<u64, CacheError> {
        check_access(pa, size)?;
        let at = self.check(pa, u64::from(size))?;
        Ok(read_be(self.bytes.slice(at, size as usize)))
    }

    /// Stores a 1, 2, 4 or 8-byte big-endian value.
    pub fn store(&mut self, pa: u64, size: u32, value: u64) -> Result<(), CacheError> {
        check_access(pa, size)?;
        let at = self.check(pa, u64::from(size))?;
        write_be(self.bytes.slice_mut(at, size as usize), value);
        Ok(())
    }

    /// The bytes of `len` from `pa`.
    pub fn bytes(&self, pa: u64, len: usize) -> Result<&[u8], CacheError> {
        let at = self.check(pa, len as u64)?;
        Ok(self.bytes.slice(at, len))
    }

    /// Overwrites bytes from `pa`.
    pub fn write_bytes(&mut self, pa: u64, data: &[u8]) -> Result<(), CacheError> {
        let at = self.check(pa, data.len() as u64)?;
        self.bytes.slice_mut(at, data.len()).copy_from_slice(data);
        Ok(())
    }

    /// Copies frame `src` to frame `dst`.
    pub fn copy_page(&mut self, dst: u64, src: u64) -> Result<(), CacheError> {
        let s = self.check(src * PAGE_SIZE, PAGE_SIZE)?;
        let d = self.check(dst * PAGE_SIZE, PAGE_SIZE)?;
        let page: Vec<u8> = self.bytes.slice(s, PAGE_SIZE as usize).to_vec();
        self.bytes
            .slice_mut(d, PAGE_SIZE as usize)
            .copy_from_slice(&page);
        Ok(())
    }

    /// Zeroes frame `pfn`.
    pub fn clear_page(&mut self, pfn: u64) -> Result<(), CacheError> {
        let at = self.check(pfn * PAGE_SIZE, PAGE_SIZE)?;
        self.bytes.slice_mut(at, PAGE_SIZE as usize).fill(0);
        Ok(())
    }

    pub(crate) fn checkpoint(&mut self) {
        self.bytes.checkpoint();
    }

    pub(crate) fn rollback(&mut self) {
        self.bytes.rollback();
    }

    /// In-crate access without bounds re-checks (callers checked the frame).
    #[inline]
    pub(crate) fn raw(&self, pa: u64, len: usize) -> &[u8] {
        self.bytes.slice(pa as usize, len)
    }

    #[inline]
    pub(crate) fn raw_mut(&mut self, pa: u64, len: usize) -> &mut [u8] {
        self.bytes.slice_mut(pa as usize, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_sizes_and_bounds() {
        let mut m = PhysMem::new(2, 5);
        m.store(8, 8, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(m.load(8, 1).unwrap(), 1);
        assert_eq!(m.load(10, 2).unwrap(), 0x0304);
        assert_eq!(m.load(12, 4).unwrap(), 0x0506_0708);
        assert_eq!(m.load(9, 2), Err(CacheError::Unaligned { va: 9, size: 2 }));
        assert_eq!(m.load(0, 3), Err(CacheError::BadSize(3)));
        assert_eq!(m.load(8192, 1), Err(CacheError::NoSuchFrame(8192)));
        m.copy_page(1, 0).unwrap();
        assert_eq!(m.load(4096 + 8, 8).unwrap(), 0x0102_0304_0506_0708);
        m.clear_page(0).unwrap();
        assert_eq!(m.load(8, 8).unwrap(), 0);
        assert!(m.copy_page(2, 0).is_err());
    }
}
