//! WireGuard keys in WireGuard's base64 format. Private keys only pass
//! through here (for `hortus keygen` / `hortus pubkey`); they never enter a
//! plan.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use x25519_dalek::{PublicKey, StaticSecret};

/// Decodes a base64 WireGuard key, checking it is exactly 32 bytes.
pub fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let bytes =
        STANDARD.decode(text.trim()).map_err(|e| format!("expected base64 of 32 bytes, got invalid base64 ({e})"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("expected base64 of 32 bytes, got {} bytes", bytes.len()))
}

/// Checks that a decoded public key can make a handshake: not one of the
/// Curve25519 points of small order (all zeros among them), whose shared
/// secret with any private key is all zeros, which WireGuard refuses.
pub fn check_usable_public_key(key: &[u8; 32]) -> Result<(), String> {
    // A clamped scalar is a multiple of the cofactor 8: it maps exactly the
    // small-order points to zero.
    let probe = StaticSecret::from([0x42; 32]);
    if probe.diffie_hellman(&PublicKey::from(*key)).was_contributory() {
        Ok(())
    } else {
        Err("a point of small order (e.g. all zeros): no WireGuard handshake can use it; use `wg pubkey` of a real private key".into())
    }
}

/// Turns 32 random bytes into a WireGuard private key (clamped like `wg genkey`).
pub fn private_key_from_bytes(mut bytes: [u8; 32]) -> String {
    bytes[0] &= 248;
    bytes[31] &= 127;
    bytes[31] |= 64;
    STANDARD.encode(bytes)
}

/// The public key of a base64 private key, as `wg pubkey` prints it.
pub fn public_key(private_key: &str) -> Result<String, String> {
    let secret = StaticSecret::from(decode_key(private_key)?);
    Ok(STANDARD.encode(PublicKey::from(&secret).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7748_public_key() {
        // RFC 7748 section 6.1, Alice's key pair.
        let private = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let public = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assert_eq!(public_key(&STANDARD.encode(private)).unwrap(), STANDARD.encode(public));
    }

    #[test]
    fn rejects_short_and_garbage_keys() {
        assert!(decode_key("AAAA").unwrap_err().contains("3 bytes"));
        assert!(decode_key("not base64!").unwrap_err().contains("invalid base64"));
    }

    #[test]
    fn small_order_points_are_refused() {
        assert!(check_usable_public_key(&[0; 32]).is_err());
        let mut one = [0; 32];
        one[0] = 1;
        assert!(check_usable_public_key(&one).is_err());
        // The order-8 point from the libsodium blocklist.
        let order8 = hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
        assert!(check_usable_public_key(&order8.try_into().unwrap()).is_err());
        let real = decode_key(&public_key(&private_key_from_bytes([7; 32])).unwrap()).unwrap();
        assert!(check_usable_public_key(&real).is_ok());
    }

    #[test]
    fn clamps_like_wg_genkey() {
        let key = decode_key(&private_key_from_bytes([0xff; 32])).unwrap();
        assert_eq!(key[0] & 7, 0);
        assert_eq!(key[31] & 0xc0, 0x40);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
