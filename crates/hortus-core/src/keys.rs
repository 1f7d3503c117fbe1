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
    fn clamps_like_wg_genkey() {
        let key = decode_key(&private_key_from_bytes([0xff; 32])).unwrap();
        assert_eq!(key[0] & 7, 0);
        assert_eq!(key[31] & 0xc0, 0x40);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
