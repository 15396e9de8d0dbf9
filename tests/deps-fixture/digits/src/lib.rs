//! Decimal digits of a number, least significant first. Kept out of line
//! (the fixture calls it from two exports, so the optimizer does not
//! inline it either) and free of panics, so the bytes it ships are
//! attributed to this crate and it pulls in no formatting machinery.

#[inline(never)]
pub fn spell(mut n: u64, out: &mut [u8; 20]) -> usize {
    let mut len = 0;
    for slot in out.iter_mut() {
        *slot = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    len
}
