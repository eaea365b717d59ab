use super::*;

const NOW: i64 = 1_765_000_000_000;

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn data(p: Result<Packet, WialonError>) -> Fix {
    match p.unwrap() {
        Packet::Data { fix, .. } => fix,
        other => panic!("not data: {other:?}"),
    }
}

// The packets below are devices' own, from Traccar's decoder tests, and the protocol
// document's examples.

#[test]
fn short_data_in_degrees_and_minutes() {
    let f = data(packet(
        "#SD#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4\r\n",
        false,
        NOW,
    ));
    assert_eq!(f.at, at("2013-04-27T20:56:01Z"));
    assert!(
        (f.lat - 55.743375).abs() < 1e-9 && (f.lon - 37.66139).abs() < 1e-6,
        "{f:?}"
    );
    assert_eq!(
        (f.speed_kmh, f.course, f.altitude, f.satellites),
        (Some(1.0), Some(2.0), Some(3.0), Some(4))
    );
    let prefixed = data(packet(
        "99999999#SD#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4",
        false,
        NOW,
    ));
    assert_eq!(prefixed, f, "what precedes the first # is passed over");
    let empty_course = data(packet(
        "#SD#021214;065947;2237.7552;N;11404.8851;E;0.000;;170.9;5",
        false,
        NOW,
    ));
    assert_eq!((empty_course.course, empty_course.altitude), (None, Some(170.9)));
}

#[test]
fn data_with_inputs_adc_and_parameters() {
    let f = data(packet(
        "#D#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4;0.0;0;0;14.77,0.02,3.6;NA;count1:1:564,fuel:2:45.8,hw:3:V4.5",
        false,
        NOW,
    ));
    assert_eq!(f.accuracy, Some(0.0));
    assert_eq!(f.io.get("adc1"), Some(&Reading::Number(14.77)));
    assert_eq!(f.io.get("count1"), Some(&Reading::Number(564.0)));
    assert_eq!(f.io.get("fuel"), Some(&Reading::Number(45.8)));
    assert_eq!(f.io.get("hw"), Some(&Reading::Text("V4.5".into())));
    let f = data(packet(
        "#D#151216;135910;5321.1466;N;04441.7929;E;87;156;265.000000;12;1.000000;241;NA;NA;NA;odo:2:0.000000,total_fuel:1:430087,can_fls:1:201",
        false,
        NOW,
    ));
    assert_eq!(
        (f.speed_kmh, f.course, f.satellites),
        (Some(87.0), Some(156.0), Some(12))
    );
    assert_eq!(f.io.get("total_fuel"), Some(&Reading::Number(430087.0)));
}

#[test]
fn version_2_checks_each_packets_crc() {
    // CRC-16/IBM of the message up to its last ';', as the device wrote it.
    let line = "#D#101118;061143;0756.0930;N;12338.6403;E;18.223;99.766;-4.000;10;0.800;NA;NA;NA;NA;101_521347:1:521249,101_521126:1:6593598,101_521127:1:774780,101_521072_21.1:1:0,101_521072_21.2:1:71353;F24A";
    let f = data(packet(line, true, NOW));
    assert_eq!(f.at, at("2018-11-10T06:11:43Z"));
    assert_eq!(
        (f.altitude, f.io.get("101_521126")),
        (Some(-4.0), Some(&Reading::Number(6593598.0)))
    );
    assert_eq!(packet(&line.replace("F24A", "F24B"), true, NOW), Err(WialonError::Crc));
    assert_eq!(
        packet(&line.replace("18.223", "18.224"), true, NOW),
        Err(WialonError::Crc)
    );
    // Without a position, the server's moment when the device has none.
    let line = "#D#120319;112003;NA;NA;NA;NA;0.000;NA;NA;0;NA;NA;NA;NA;NA;101_521347:1:521246,101_158:1:510,101_521055:1:510,101_521055_2.9:1:509,101_521056:1:3;626B";
    assert_eq!(packet(line, true, NOW), Err(WialonError::Coordinates));
}

#[test]
fn login_ping_and_black_box() {
    assert_eq!(
        packet("#L#2.0;42001300083;;CE45", false, NOW),
        Ok(Packet::Login {
            version: Some("2.0".into()),
            imei: "42001300083".into(),
            password: None
        })
    );
    assert_eq!(
        packet("#L#123456789012345;test", false, NOW),
        Ok(Packet::Login {
            version: None,
            imei: "123456789012345".into(),
            password: Some("test".into())
        })
    );
    assert_eq!(packet("#P#", false, NOW), Ok(Packet::Ping));
    let b = packet("#B#080914;073235;5027.50625;N;03026.19321;E;0.700;0.000;NA;4;NA;NA;NA;;NA;Батарея:3:100 %|080914;073420;5027.50845;N;03026.18854;E;1.996;292.540;NA;4;NA;NA;NA;;NA;Батарея:3:100 %", false, NOW).unwrap();
    let Packet::BlackBox(fixes) = &b else { panic!("{b:?}") };
    assert_eq!(fixes.len(), 2);
    assert_eq!(fixes[1].at, at("2014-09-08T07:34:20Z"));
    assert_eq!(fixes[0].io.get("Батарея"), Some(&Reading::Text("100 %".into())));
    assert_eq!(answer(&b), "#AB#2\r\n");
    assert_eq!(answer(&Packet::Ping), "#AP#\r\n");
}

#[test]
fn what_cannot_be_read_is_refused_with_the_reason() {
    assert_eq!(packet("hello", false, NOW), Err(WialonError::Structure));
    assert_eq!(packet("#X#1;2", false, NOW), Err(WialonError::Type("X".into())));
    assert_eq!(
        packet("#SD#320413;205601;5544.6025;N;03739.6834;E;1;2;3;4", false, NOW),
        Err(WialonError::Time)
    );
    assert_eq!(
        packet("#SD#270413;205601;5564.6025;N;03739.6834;E;1;2;3;4", false, NOW),
        Err(WialonError::Coordinates)
    );
    assert_eq!(
        packet("#SD#270413;205601;5544.6025;Q;03739.6834;E;1;2;3;4", false, NOW),
        Err(WialonError::Coordinates)
    );
    assert_eq!(
        packet("#SD#270413;205601;5544.6025;N;03739.6834;E;fast;2;3;4", false, NOW),
        Err(WialonError::Motion)
    );
    assert_eq!(
        packet("#SD#270413;205601;5544.6025;N", false, NOW),
        Err(WialonError::Structure)
    );
    assert_eq!(packet("#L#a;b;c;d;e", false, NOW), Err(WialonError::Structure));
    assert_eq!(packet(&"#P#".repeat(30_000), false, NOW), Err(WialonError::Structure));
}

#[test]
fn a_refusal_answers_in_the_kind_it_was_sent_with_the_protocols_code() {
    let line = "#SD#270413;205601;5564.6025;N;03739.6834;E;1;2;3;4";
    let err = packet(line, false, NOW).unwrap_err();
    assert_eq!(refusal(line, &err).as_deref(), Some("#ASD#10\r\n"));
    let line = "#D#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4;;;;;;;BEEF";
    assert_eq!(refusal(line, &WialonError::Crc).as_deref(), Some("#AD#13\r\n"));
    assert_eq!(refusal("#B#x|y", &WialonError::Time).as_deref(), Some("#AB#0\r\n"));
    assert_eq!(
        refusal("#L#a;b;c;d;e", &WialonError::Structure).as_deref(),
        Some("#AL#0\r\n")
    );
    assert_eq!(refusal("hello", &WialonError::Structure), None);
}
