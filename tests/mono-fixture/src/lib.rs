//! The advise fixture: `mix` is generic over the integer type, and each of
//! the eight exports instantiates it for another one. The copies differ
//! in width, so neither LLVM nor binaryen can merge them: a monomorphization
//! group `advise` must name, with its count and bytes.

/// Sort a seeded block of `T`s, then fold it with a data-dependent mix.
#[inline(never)]
fn mix<T>(seed: u64) -> u64
where
    T: Copy + Ord + TryFrom<u64> + TryInto<u64>,
{
    let mut block = [0u64; 24];
    let mut x = seed | 1;
    let mut vals: [Option<T>; 24] = [None; 24];
    for (i, v) in vals.iter_mut().enumerate() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        block[i] = x;
        *v = T::try_from(x % 251).ok();
    }
    // Insertion sort: a loop nest per instantiation.
    for i in 1..vals.len() {
        let mut j = i;
        while j > 0 && vals[j - 1] > vals[j] {
            vals.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut acc: u128 = 0;
    for (i, v) in vals.iter().enumerate() {
        let w = v.and_then(|v| v.try_into().ok()).unwrap_or(0u64) as u128;
        acc = acc.wrapping_mul(31).wrapping_add(w ^ (block[i] as u128));
        if acc % 3 == 0 {
            acc = acc.rotate_left(5);
        }
    }
    (acc ^ (acc >> 64)) as u64
}

macro_rules! exports {
    ($($name:ident: $t:ty),*) => {$(
        #[no_mangle]
        pub extern "C" fn $name(seed: u64) -> u64 {
            // Two calls: binaryen inlines a function with one caller, which
            // would hide the instantiation inside its export.
            mix::<$t>(seed) ^ mix::<$t>(seed.rotate_left(7))
        }
    )*};
}

exports!(mix_u8: u8, mix_u16: u16, mix_u32: u32, mix_u64: u64, mix_i16: i16, mix_i32: i32, mix_i64: i64, mix_u128: u128);
