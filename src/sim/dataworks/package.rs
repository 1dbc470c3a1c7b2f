//! Migration Assistant packages as the simulator makes and checks them: a zip (stored entries)
//! with `project.xml` at the root and `src/workflows/<TYPE>_<name>/workflow.xml`, the layout the
//! open-source MigrationX writer produces (GitHub `aliyun/dataworks-spec`). The real export
//! format is undocumented, so the checks rely on nothing more than that; the `engines` attribute
//! of `project.xml` (`ODPS:instance,...`) is the simulator's own way to say which compute-engine
//! instances a package uses.

/// One compute-engine instance: (`ODPS`, `sales_dev_odps`).
pub type Engine = (String, String);

/// A workflow and its nodes (name, type such as `ODPS_SQL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub name: String,
    pub nodes: Vec<(String, String)>,
}

/// What a package holds, as far as the simulator looks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageInfo {
    pub project: Option<String>,
    pub engines: Vec<Engine>,
    pub workflows: Vec<String>,
    /// Node types found (for packages without an `engines` attribute).
    pub node_types: Vec<String>,
    /// A SPEC-layout package (a `SPEC.FORMAT` marker file).
    pub spec_format: bool,
}

/// Builds a package of `project` with these engines and workflows.
pub fn build(project: &str, engines: &[Engine], workflows: &[Workflow]) -> Vec<u8> {
    let engines_attr = engines
        .iter()
        .map(|(t, i)| format!("{t}:{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut files = vec![(
        "project.xml".to_string(),
        format!("<DwProject name=\"{project}\" engines=\"{engines_attr}\"/>\n"),
    )];
    for wf in workflows {
        let nodes: String = wf
            .nodes
            .iter()
            .map(|(n, t)| format!("    <Node name=\"{n}\" type=\"{t}\"/>\n"))
            .collect();
        files.push((
            format!("src/workflows/BUSINESS_{}/workflow.xml", wf.name),
            format!(
                "<Workflow name=\"{}\" type=\"BUSINESS\">\n  <Nodes>\n{nodes}  </Nodes>\n</Workflow>\n",
                wf.name
            ),
        ));
    }
    zip(&files)
}

/// A zip of stored (uncompressed) entries.
pub fn zip(files: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in files {
        let offset = out.len() as u32;
        let data = content.as_bytes();
        let crc = crc32(data);
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u32.to_le_bytes()); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0u8; 8]); // comment, disk, internal attrs
                h.extend_from_slice(&0u32.to_le_bytes()); // external attrs
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Reads the entries of a zip written with stored entries and known sizes (what [`zip`] and
/// most tools write for small text files); `Err` when it is not a zip at all.
pub fn inspect(bytes: &[u8]) -> Result<PackageInfo, String> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err("the package is not a zip file".into());
    }
    let mut info = PackageInfo::default();
    let mut at = 0usize;
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut entries = 0;
    while bytes.get(at..at + 4) == Some(b"PK\x03\x04") {
        let (Some(method), Some(size), Some(name_len), Some(extra_len)) = (
            u16_at(at + 8),
            u32_at(at + 18),
            u16_at(at + 26),
            u16_at(at + 28),
        ) else {
            break;
        };
        let name_start = at + 30;
        let data_start = name_start + name_len as usize + extra_len as usize;
        let name = String::from_utf8_lossy(
            bytes
                .get(name_start..name_start + name_len as usize)
                .unwrap_or_default(),
        )
        .into_owned();
        let data = bytes
            .get(data_start..data_start + size as usize)
            .unwrap_or_default();
        let text = if method == 0 {
            String::from_utf8_lossy(data).into_owned()
        } else {
            String::new()
        };
        entries += 1;
        if name == "project.xml" {
            info.project = attr(&text, "name");
            info.engines = attr(&text, "engines")
                .unwrap_or_default()
                .split(',')
                .filter_map(|e| e.split_once(':'))
                .map(|(t, i)| (t.to_string(), i.to_string()))
                .collect();
        } else if name.ends_with("SPEC.FORMAT") {
            info.spec_format = true;
        } else if let Some(dir) = name
            .strip_prefix("src/workflows/")
            .and_then(|rest| rest.strip_suffix("/workflow.xml"))
        {
            info.workflows.push(
                dir.split_once('_')
                    .map(|(_, n)| n)
                    .unwrap_or(dir)
                    .to_string(),
            );
            for node in text.split("<Node ").skip(1) {
                if let Some(t) = attr(node, "type") {
                    info.node_types.push(t);
                }
            }
        }
        at = data_start + size as usize;
    }
    if entries == 0 {
        return Err("the package is not a readable zip file".into());
    }
    Ok(info)
}

fn attr(text: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = text.find(&key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

/// The engine type a node type needs (`ODPS_SQL` → `ODPS`).
pub fn engine_type_of(node_type: &str) -> Option<&'static str> {
    let t = node_type.to_ascii_uppercase();
    if t.starts_with("ODPS") {
        Some("ODPS")
    } else if t.starts_with("EMR") {
        Some("EMR")
    } else if t.starts_with("CDH") || t.starts_with("HADOOP") {
        Some("HADOOP_CDH")
    } else if t.starts_with("HOLOGRES") {
        Some("HOLOGRES")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_package_reads_back() {
        let bytes = build(
            "sales_dev",
            &[("ODPS".into(), "sales_dev_odps".into())],
            &[Workflow {
                name: "wf_orders".into(),
                nodes: vec![("ods_orders".into(), "ODPS_SQL".into())],
            }],
        );
        let info = inspect(&bytes).unwrap();
        assert_eq!(info.project.as_deref(), Some("sales_dev"));
        assert_eq!(
            info.engines,
            [("ODPS".to_string(), "sales_dev_odps".to_string())]
        );
        assert_eq!(info.workflows, ["wf_orders"]);
        assert_eq!(info.node_types, ["ODPS_SQL"]);
        assert!(inspect(b"not a zip").is_err());
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
