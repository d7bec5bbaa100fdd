//! `omnibridge sim`: run the Omnitron and ERP simulators until Ctrl-C.

use anyhow::Context;
use omnibridge_sim::erp::AuthMode;
use omnibridge_sim::{ErpConfig, ErpSim, OmnitronConfig, OmnitronSim};

/// ERP authentication mode (see crates/sim/README.md).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ErpAuthArg {
    /// No authentication.
    None,
    /// `POST /auth/login` then `Authorization: Bearer`.
    Jwt,
    /// HTTP Basic.
    Basic,
    /// A fixed `Authorization` value.
    StaticToken,
    /// A fixed custom header.
    CustomHeader,
    /// OAuth2 client credentials (`POST /oauth/token`).
    Oauth2Cc,
    /// Token in the URL path: `/(S(<token>))/...`.
    TokenInUrl,
}

impl From<ErpAuthArg> for AuthMode {
    fn from(a: ErpAuthArg) -> Self {
        match a {
            ErpAuthArg::None => AuthMode::None,
            ErpAuthArg::Jwt => AuthMode::Jwt,
            ErpAuthArg::Basic => AuthMode::Basic,
            ErpAuthArg::StaticToken => AuthMode::StaticToken,
            ErpAuthArg::CustomHeader => AuthMode::CustomHeader,
            ErpAuthArg::Oauth2Cc => AuthMode::Oauth2Cc,
            ErpAuthArg::TokenInUrl => AuthMode::TokenInUrl,
        }
    }
}

/// Arguments of `omnibridge sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address of the Omnitron simulator (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8001")]
    pub omnitron_listen: String,
    /// Address of the ERP simulator (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8002")]
    pub erp_listen: String,
    /// Number of generated Omnitron orders.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Seed of the generated data (same seed, same data).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Omnitron login user.
    #[arg(long, default_value = "integrator")]
    pub omnitron_username: String,
    /// Omnitron login password.
    #[arg(long, default_value = "integrator-pass")]
    pub omnitron_password: String,
    /// ERP authentication mode.
    #[arg(long, value_enum, default_value = "jwt")]
    pub erp_auth: ErpAuthArg,
}

/// Start both simulators, print where they are, serve until Ctrl-C.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: SimArgs) -> anyhow::Result<()> {
    let omnitron = OmnitronSim::start(
        OmnitronConfig::default()
            .listen(&args.omnitron_listen)
            .orders(args.orders)
            .seed(args.seed)
            .credentials(&args.omnitron_username, &args.omnitron_password),
    )
    .await
    .context("starting the Omnitron simulator (--omnitron-listen)")?;
    let erp = ErpSim::start(
        ErpConfig::default()
            .listen(&args.erp_listen)
            .seed(args.seed)
            .auth_mode(args.erp_auth.into()),
    )
    .await
    .context("starting the ERP simulator (--erp-listen)")?;
    let o = omnitron.base_url();
    let e = erp.base_url();
    let a = erp.auth();
    println!(
        "Omnitron simulator: {o}  ({} orders, seed {})",
        args.orders, args.seed
    );
    println!(
        "  login:   POST {o}/api/v1/auth/login/  username={} password={}",
        omnitron.username(),
        omnitron.password()
    );
    println!("  control: {o}/__sim/state");
    println!("ERP simulator: {e}  (auth {:?})", a.mode);
    match a.mode {
        AuthMode::None => {}
        AuthMode::Jwt | AuthMode::TokenInUrl => println!(
            "  login:   POST {e}/auth/login  username={} password={}",
            a.username, a.password
        ),
        AuthMode::Basic => println!("  basic:   username={} password={}", a.username, a.password),
        AuthMode::StaticToken => println!("  header:  Authorization: {}", a.static_token),
        AuthMode::CustomHeader => println!("  header:  {}: {}", a.header_name, a.header_value),
        AuthMode::Oauth2Cc => println!(
            "  token:   POST {e}/oauth/token  client_id={} client_secret={}",
            a.client_id, a.client_secret
        ),
    }
    println!("  control: {e}/__sim/state");
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    omnitron.shutdown().await;
    erp.shutdown().await;
    Ok(())
}
