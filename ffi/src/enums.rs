//! The one conversion from C's `uint32_t` to the library's C enums. C passes enum values as
//! plain integers, so every value is checked against the declared variants, never transmuted.

/// Gives a `#[repr(u32)]` enum `ALL` (every variant, in order) and `TryFrom<u32>`; the variant
/// list is checked for completeness at compile time by an exhaustive `match`.
macro_rules! u32_enum {
    ($ty:ident { $($variant:ident),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
        }

        impl TryFrom<u32> for $ty {
            type Error = u32;

            fn try_from(value: u32) -> Result<Self, u32> {
                $(if value == $ty::$variant as u32 {
                    return Ok($ty::$variant);
                })+
                Err(value)
            }
        }

        const _: () = {
            // Fails to compile when a variant is missing from the list above.
            #[allow(dead_code)]
            fn every_variant_is_listed(value: $ty) {
                match value {
                    $($ty::$variant => {})+
                }
            }
        };
    };
}

pub(crate) use u32_enum;
