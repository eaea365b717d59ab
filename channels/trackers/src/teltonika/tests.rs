use super::*;

fn bytes(h: &str) -> Vec<u8> {
    hex::decode(h).unwrap()
}

/// Teltonika's documentation: the IMEI hand-shake of 356307042441013.
const HANDSHAKE: &str = "000F333536333037303432343431303133";
/// Teltonika's documentation: a Codec 8 packet of one record at 2019-06-10 10:04:46 UTC.
const CODEC8_WIKI: &str = "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000010000C7CF";
/// Sample frames from Traccar's decoder tests, as devices sent them.
const CODEC8_ONE: &str = "000000000000003508010000014f8e016420002141bbaf0f4e96a7fffa0000120000000602010047030242669c92000002c7000000009100000000000100002df3";
const CODEC8E_VARIABLE: &str = "00000000000000858e0200000174431aadc100061d888f21000e8a0032002e0c000001810001000000000000000000010181001711210102030405060708090a0b0c0d0e0f10020b010ad000000174431a389100061d888f21000e8a0033002e0d000001810001000000000000000000010181001711210102030405060708090a0b0c0d0e0f10020b010ad2020000492b";
const CODEC8_FOUR: &str = "000000000000009f080400000159738f76b8012e13b796110ab27600d700000b00004e01000000014e000000000000000000000159738f6ee8012e13b796110ab27600d700000a00004e01000000014e01000b00791c179300000159738f6b00012e13b796110ab27600d700000a00004e01000000014e000000000000000000000159738f5f48012e13b796110ab27600d700000b00004e01000000014e01000b00791c17930400009671";

#[test]
fn the_handshake_is_the_imei() {
    let b = bytes(HANDSHAKE);
    assert_eq!(imei(&b), Ok(Some(("356307042441013".into(), 17))));
    for n in 0..b.len() {
        assert_eq!(imei(&b[..n]), Ok(None), "{n} bytes are not yet a hand-shake");
    }
    assert_eq!(
        imei(&bytes("000F33353633303730343234343130314A")),
        Err(FrameError::Imei)
    );
    assert_eq!(imei(&bytes("0000")), Err(FrameError::Imei));
    assert_eq!(
        imei(&bytes("FFFF")),
        Err(FrameError::Imei),
        "no 65 KB IMEI is waited for"
    );
}

#[test]
fn the_crc_is_crc16_ibm() {
    // The CRC catalogue's check value of CRC-16/ARC over "123456789".
    assert_eq!(crc16(b"123456789"), 0xBB3D);
}

#[test]
fn the_documented_codec8_packet() {
    let b = bytes(CODEC8_WIKI);
    let (p, used) = packet(&b).unwrap().unwrap();
    assert_eq!(used, b.len());
    assert_eq!(p.codec, CODEC_8);
    assert_eq!(p.records.len(), 1);
    let r = &p.records[0];
    assert_eq!(r.fix.at, 0x16B40D8EA30);
    assert_eq!((r.priority, r.event_io), (1, 1));
    assert_eq!((r.fix.lat, r.fix.lon), (0.0, 0.0));
    let io: Vec<(String, Reading)> = r.fix.io.clone().into_iter().collect();
    assert_eq!(
        io,
        [
            ("1".into(), Reading::Number(1.0)),
            ("21".into(), Reading::Number(3.0)),
            ("241".into(), Reading::Number(24602.0)),
            ("66".into(), Reading::Number(24079.0)),
            ("78".into(), Reading::Number(0.0)),
        ]
    );
    assert_eq!(ack(p.records.len()), [0, 0, 0, 1]);
}

#[test]
fn a_devices_codec8_record_with_its_position() {
    let (p, _) = packet(&bytes(CODEC8_ONE)).unwrap().unwrap();
    let f = &p.records[0].fix;
    assert_eq!((f.lat, f.lon), (25.6808615, 55.7956015));
    assert_eq!(f.altitude, Some(-6.0), "altitude is signed");
    assert_eq!((f.satellites, f.speed_kmh, f.course), (Some(18), Some(0.0), Some(0.0)));
    assert_eq!(
        f.io.get("66"),
        Some(&Reading::Number(0x669c as f64)),
        "external voltage, mV"
    );
    assert_eq!(f.io.len(), 6);
}

#[test]
fn codec8_extended_with_variable_length_elements() {
    let b = bytes(CODEC8E_VARIABLE);
    let (p, used) = packet(&b).unwrap().unwrap();
    assert_eq!((p.codec, p.records.len(), used), (CODEC_8E, 2, b.len()));
    let r = &p.records[0];
    assert_eq!(r.event_io, 385);
    assert_eq!((r.fix.lat, r.fix.lon), (55.365185, 10.2598799));
    assert_eq!(
        (r.fix.altitude, r.fix.course, r.fix.satellites),
        (Some(50.0), Some(46.0), Some(12))
    );
    assert_eq!(
        r.fix.io.get("385"),
        Some(&Reading::Bytes("11210102030405060708090a0b0c0d0e0f10020b010ad0".into()))
    );
    assert!(
        p.records[0].fix.at > p.records[1].fix.at,
        "records come newest first here"
    );
}

#[test]
fn several_records_and_negative_coordinates() {
    let (p, _) = packet(&bytes(CODEC8_FOUR)).unwrap().unwrap();
    assert_eq!(p.records.len(), 4);
    assert_eq!(ack(4), [0, 0, 0, 4]);
    let f = &p.records[0].fix;
    assert_eq!(
        (f.lat, f.lon, f.altitude, f.satellites),
        (28.5913718, 77.3044118, Some(215.0), Some(11))
    );
    // West and south: the coordinates are signed (two's complement).
    let good = bytes(CODEC8_ONE);
    let mut data = good[8..good.len() - 4].to_vec();
    data[2 + 9..2 + 13].copy_from_slice(&(-557_956_015i32).to_be_bytes());
    data[2 + 13..2 + 17].copy_from_slice(&(-256_808_615i32).to_be_bytes());
    let mut frame = good[..8].to_vec();
    frame.extend(&data);
    frame.extend(u32::from(crc16(&data)).to_be_bytes());
    let (p, _) = packet(&frame).unwrap().unwrap();
    assert_eq!((p.records[0].fix.lat, p.records[0].fix.lon), (-25.6808615, -55.7956015));
}

#[test]
fn a_stream_yields_each_packet_whole_and_waits_for_the_rest() {
    let one = bytes(CODEC8_ONE);
    let mut stream = one.clone();
    stream.extend(bytes(CODEC8_WIKI));
    for n in 0..one.len() {
        assert_eq!(packet(&stream[..n]).map(|p| p.is_none()), Ok(true), "{n} bytes");
    }
    let (_, used) = packet(&stream).unwrap().unwrap();
    assert_eq!(used, one.len());
    let (p, _) = packet(&stream[used..]).unwrap().unwrap();
    assert_eq!(p.records[0].fix.at, 0x16B40D8EA30);
}

#[test]
fn broken_packets_are_refused_with_the_reason() {
    let good = bytes(CODEC8_ONE);
    let mut bad = good.clone();
    bad[30] ^= 0x01;
    assert!(matches!(packet(&bad), Err(FrameError::Crc { .. })));
    assert_eq!(packet(&bytes("01000000")), Err(FrameError::Preamble));
    assert_eq!(packet(&bytes("00000000FFFFFFFF")), Err(FrameError::Length(u32::MAX)));
    assert_eq!(packet(&bytes("0000000000000000")), Err(FrameError::Length(0)));
    // Counts that disagree, with a CRC that matches what was sent.
    let mut data = good[8..good.len() - 4].to_vec();
    let last = data.len() - 1;
    data[last] = 2;
    let mut frame = good[..8].to_vec();
    frame.extend(&data);
    frame.extend(u32::from(crc16(&data)).to_be_bytes());
    assert_eq!(packet(&frame), Err(FrameError::Counts(1, 2)));
    // A record claiming more IO elements than the data holds.
    let mut data = good[8..good.len() - 4].to_vec();
    data[2 + 24 + 2] = 0x7f;
    let mut frame = good[..8].to_vec();
    frame.extend(&data);
    frame.extend(u32::from(crc16(&data)).to_be_bytes());
    assert_eq!(packet(&frame), Err(FrameError::Truncated));
    // Another codec (Codec 12 is commands, not positions).
    let data = bytes("0C0100");
    let mut frame = bytes("0000000000000003");
    frame.extend(&data);
    frame.extend(u32::from(crc16(&data)).to_be_bytes());
    assert_eq!(packet(&frame), Err(FrameError::Codec(0x0C)));
}

/// Whatever the bytes, the parser answers (a packet, a wait or a refusal) and never panics.
#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let good = bytes(CODEC8E_VARIABLE);
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut b = good.clone();
        let n = (x % 4) as usize + 1;
        for k in 0..n {
            let at = ((x >> (8 * k)) as usize) % b.len();
            b[at] = (x >> (3 * k)) as u8;
        }
        b.truncate(((x >> 40) as usize) % (b.len() + 1));
        let _ = packet(&b);
        let _ = imei(&b);
    }
}

#[test]
fn what_a_simulator_sends_reads_back_the_same() {
    let fixes: Vec<Fix> = (0..3)
        .map(|i| Fix {
            at: 1_765_000_000_000 + i * 5_000,
            lat: 55.75 + i as f64 * 0.001,
            lon: -37.6,
            altitude: Some(150.0),
            course: Some(90.0),
            speed_kmh: Some(42.0),
            satellites: Some(9),
            accuracy: None,
            io: Default::default(),
        })
        .collect();
    let frame = codec8(&fixes);
    let (p, used) = packet(&frame).unwrap().unwrap();
    assert_eq!(used, frame.len());
    assert_eq!(p.records.len(), 3);
    for (r, f) in p.records.iter().zip(&fixes) {
        assert_eq!(r.fix.at, f.at);
        assert!((r.fix.lat - f.lat).abs() < 1e-7 && (r.fix.lon - f.lon).abs() < 1e-7);
        assert_eq!((r.fix.speed_kmh, r.fix.satellites), (Some(42.0), Some(9)));
    }
    assert_eq!(
        imei(&imei_frame("356307042441013")).unwrap(),
        Some(("356307042441013".into(), 17))
    );
}
