//! The lab's forwarder: WireGuard's UDP carried over TCP, past a censor that
//! drops UDP. Each datagram travels as one frame (a 2-byte big-endian
//! length, then the bytes), so datagram boundaries survive the stream.
//!
//! * [`run_client`] (the dialer's side, `Forwarder::Client`): takes
//!   datagrams on `listen` (the link's Endpoint, 127.0.0.1:port), keeps a
//!   TCP connection to the peer's server (reconnecting; datagrams arriving
//!   meanwhile wait, a few at most), and returns replies to the last local
//!   sender.
//! * [`run_server`] (the listener's side, `Forwarder::Server`): accepts TCP
//!   on the link's port and, per connection, delivers frames as datagrams to
//!   the local WireGuard at `deliver` and frames its replies back.
//!
//! A connection whose sent data stays unacknowledged for
//! [`STALL_TIMEOUT_MS`] (a cut path, a dead peer) is dropped and redialled,
//! so traffic resumes promptly when the path heals.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Milliseconds unacknowledged data may wait before a connection is dropped
/// (`TCP_USER_TIMEOUT`).
pub const STALL_TIMEOUT_MS: u32 = 3000;
/// Pause between connection attempts.
const REDIAL_PAUSE: Duration = Duration::from_millis(100);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Datagrams kept while the client is not connected.
const MAX_PENDING: usize = 32;
/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65535;

/// The client's connection to the server, and what waits for it.
#[derive(Default)]
struct Upstream {
    /// The connection, while there is one.
    stream: Option<TcpStream>,
    /// Datagrams that arrived while unconnected (the newest [`MAX_PENDING`]),
    /// sent first on the next connection so a handshake started before the
    /// relay connected is not lost.
    pending: VecDeque<Vec<u8>>,
}

impl Upstream {
    /// Sends `datagram`, or keeps it for the next connection.
    fn send(&mut self, datagram: &[u8]) {
        if let Some(stream) = self.stream.as_mut() {
            if write_frame(stream, datagram).is_ok() {
                return;
            }
            let _ = stream.shutdown(std::net::Shutdown::Both);
            self.stream = None;
        }
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(datagram.to_vec());
    }

    /// Adopts a new connection after flushing what waited for it.
    fn connected(&mut self, mut stream: TcpStream) -> io::Result<()> {
        while let Some(datagram) = self.pending.pop_front() {
            write_frame(&mut stream, &datagram)?;
        }
        self.stream = Some(stream);
        Ok(())
    }
}

/// Runs the client side until the process is killed.
pub fn run_client(listen: SocketAddr, remote: &str) -> io::Result<()> {
    let remote: Vec<SocketAddr> = remote.to_socket_addrs()?.collect();
    let udp = Arc::new(UdpSocket::bind(listen)?);
    let sender: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let upstream: Arc<Mutex<Upstream>> = Arc::default();
    {
        let (udp, sender, upstream) = (udp.clone(), sender.clone(), upstream.clone());
        thread::spawn(move || loop {
            if let Some(stream) = connect_any(&remote) {
                let adopted = stream.try_clone().and_then(|w| upstream.lock().expect("lock").connected(w));
                if adopted.is_ok() {
                    // Frames from the server go back to whoever sent last.
                    let _ = copy_frames_to_udp(stream, |frame| {
                        let to = *sender.lock().expect("lock");
                        match to {
                            Some(to) => udp.send_to(frame, to).map(drop),
                            None => Ok(()),
                        }
                    });
                }
                upstream.lock().expect("lock").stream = None;
            }
            thread::sleep(REDIAL_PAUSE);
        });
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, from) = udp.recv_from(&mut buf)?;
        *sender.lock().expect("lock") = Some(from);
        upstream.lock().expect("lock").send(&buf[..n]);
    }
}

/// Runs the server side until the process is killed.
pub fn run_server(port: u16, deliver: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(("::", port)).or_else(|_| TcpListener::bind(("0.0.0.0", port)))?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if tune(&stream).is_err() {
            continue;
        }
        if let Err(e) = serve(stream, deliver) {
            eprintln!("relay server: connection setup failed: {e}");
        }
    }
    Ok(())
}

/// Pumps one server connection in two threads until either side fails.
fn serve(stream: TcpStream, deliver: SocketAddr) -> io::Result<()> {
    let udp = UdpSocket::bind(("127.0.0.1", 0))?;
    udp.connect(deliver)?;
    udp.set_read_timeout(Some(Duration::from_millis(500)))?;
    let closed = Arc::new(AtomicBool::new(false));
    let mut writer = stream.try_clone()?;
    let (udp_in, closed_in) = (udp.try_clone()?, closed.clone());
    thread::spawn(move || {
        let _ = copy_frames_to_udp(stream, |frame| udp_in.send(frame).map(drop));
        closed_in.store(true, Ordering::SeqCst);
    });
    thread::spawn(move || {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !closed.load(Ordering::SeqCst) {
            match udp.recv(&mut buf) {
                Ok(n) => {
                    if write_frame(&mut writer, &buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                // ICMP port unreachable while WireGuard restarts: keep going.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(_) => break,
            }
        }
        let _ = writer.shutdown(std::net::Shutdown::Both);
    });
    Ok(())
}

/// The first address of `remote` that accepts a connection, tuned.
fn connect_any(remote: &[SocketAddr]) -> Option<TcpStream> {
    remote.iter().find_map(|addr| TcpStream::connect_timeout(addr, CONNECT_TIMEOUT).ok()).filter(|s| tune(s).is_ok())
}

/// No Nagle delay; drop the connection when data stalls.
fn tune(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let timeout: libc::c_uint = STALL_TIMEOUT_MS;
    // SAFETY: setsockopt on a valid socket with a pointer to a c_uint of the
    // size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            &timeout as *const libc::c_uint as *const libc::c_void,
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes one frame: 2-byte big-endian length, then `payload`.
pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len =
        u16::try_from(payload.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "datagram too large"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    out.write_all(&frame)
}

/// Reads frames from `input` until it ends, handing each payload to `deliver`.
pub fn copy_frames_to_udp(mut input: impl Read, mut deliver: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let mut len = [0u8; 2];
        input.read_exact(&mut len)?;
        let len = usize::from(u16::from_be_bytes(len));
        input.read_exact(&mut buf[..len])?;
        if let Err(e) = deliver(&buf[..len]) {
            // A datagram that cannot be delivered is lost, as UDP would be.
            if e.kind() != io::ErrorKind::ConnectionRefused {
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_datagram_boundaries() {
        let mut stream = vec![];
        for payload in [&b"one"[..], b"", &[7u8; 1500]] {
            write_frame(&mut stream, payload).unwrap();
        }
        let mut got: Vec<Vec<u8>> = vec![];
        let end = copy_frames_to_udp(&stream[..], |f| {
            got.push(f.to_vec());
            Ok(())
        });
        assert_eq!(end.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(got, [b"one".to_vec(), vec![], vec![7u8; 1500]]);
    }

    #[test]
    fn datagrams_sent_before_the_connection_wait_for_it() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut up = Upstream::default();
        for i in 0..(MAX_PENDING as u8 + 3) {
            up.send(&[i]);
        }
        let stream = TcpStream::connect(a.local_addr().unwrap()).unwrap();
        up.connected(stream).unwrap();
        let (accepted, _) = a.accept().unwrap();
        let mut got = vec![];
        up.send(&[200]);
        drop(up);
        let _ = copy_frames_to_udp(accepted, |f| {
            got.push(f[0]);
            Ok(())
        });
        let mut want: Vec<u8> = (3..MAX_PENDING as u8 + 3).collect();
        want.push(200);
        assert_eq!(got, want, "the newest datagrams, in order, then live traffic");
    }

    #[test]
    fn client_and_server_carry_datagrams_both_ways() {
        // A stand-in "WireGuard" on the server side echoes datagrams back.
        let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
        let deliver = echo.local_addr().unwrap();
        thread::spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                let (n, from) = echo.recv_from(&mut buf).unwrap();
                echo.send_to(&buf[..n], from).unwrap();
            }
        });
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        thread::spawn(move || run_server(port, deliver));
        let listen: SocketAddr = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        thread::spawn(move || run_client(listen, &format!("127.0.0.1:{port}")));
        let wg = UdpSocket::bind("127.0.0.1:0").unwrap();
        wg.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 2048];
        // The client connects in the background: retry until the echo comes back.
        let mut echoed = None;
        for _ in 0..50 {
            wg.send_to(b"handshake", listen).unwrap();
            if let Ok((n, from)) = wg.recv_from(&mut buf) {
                echoed = Some((buf[..n].to_vec(), from));
                break;
            }
        }
        let (data, from) = echoed.expect("echo through the relay");
        assert_eq!(data, b"handshake");
        assert_eq!(from, listen, "replies come from the client's listen address");
        let big = vec![42u8; 1400];
        wg.send_to(&big, listen).unwrap();
        let (n, _) = wg.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &big[..]);
    }
}
