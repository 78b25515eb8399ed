//! `#[runtime::main]` and `#[runtime::test]`: run an `async fn` on a `runtime` runtime.
//!
//! This crate is the procedural half of the `runtime` crate, which re-exports both
//! attributes; depend on `runtime` and write `#[runtime::main]` / `#[runtime::test]`.
//!
//! ```ignore
//! #[runtime::main]
//! async fn main() {
//!     let answer = runtime::spawn(async { 6 * 7 }).await.expect("the task panicked");
//!     println!("{answer}");
//! }
//! ```
//!
//! Each attribute turns the `async fn` into a plain `fn` with the same name, visibility,
//! attributes and return type, whose body builds a runtime and blocks on the original body,
//! roughly:
//!
//! ```ignore
//! fn main() {
//!     let body = async move {
//!         let answer = runtime::spawn(async { 6 * 7 }).await.expect("the task panicked");
//!         println!("{answer}");
//!     };
//!     return ::runtime::Builder::new_multi_thread()
//!         .build()
//!         .expect("failed to build the runtime")
//!         .block_on(body);
//! }
//! ```
//!
//! # Options
//!
//! | option | values | default |
//! |---|---|---|
//! | `flavor` | `"multi_thread"`, `"current_thread"`, `"local"` | `"multi_thread"` for `main`, `"current_thread"` for `test` |
//! | `worker_threads` | an integer literal, at least 1; multi_thread only | one worker per core |
//! | `start_paused` | `true` or `false`; `true` needs current_thread or local | `false` |
//! | `crate` | the path of the `runtime` crate, as a string | `"::runtime"` |
//!
//! Misuse is a compile error pointing at the offending token: a function that is not
//! `async`, arguments, an unknown or repeated option, a value of the wrong kind,
//! `worker_threads` on the current_thread flavor, or `start_paused = true` on the
//! multi_thread one. The function is still emitted beside
//! the error, so the rest of the crate type-checks as usual.

use proc_macro::TokenStream;
use proc_macro2::{Literal, Span, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{braced, AttrStyle, Attribute, Expr, FnArg, Lit, Meta, Signature, Token, Visibility};

/// Runs an `async fn main` on a runtime built for it.
///
/// The function keeps its name, visibility, attributes and return type, so
/// `async fn main() -> std::io::Result<()>` works as it would without the attribute.
/// The runtime is built before the body starts and dropped when it returns, which
/// cancels the tasks still alive.
///
/// # Options
///
/// - `flavor = "multi_thread"` (the default): a work-stealing pool with one worker per
///   core, or `worker_threads = N` of them.
/// - `flavor = "current_thread"`: every task runs on the thread that called `main`.
/// - `flavor = "local"`: as current_thread, on a `LocalRuntime`, so futures that are not
///   `Send` can be spawned with `runtime::spawn_local`.
/// - `worker_threads = N`: the number of workers of the multi_thread flavor, at least 1.
/// - `start_paused = true`: the runtime's clock starts paused (`runtime::time::pause`);
///   needs `flavor = "current_thread"`. Default `false`.
/// - `crate = "path"`: where to find the `runtime` crate when it is renamed
///   (default `::runtime`).
///
/// # Examples
///
/// ```ignore
/// #[runtime::main]
/// async fn main() {
///     let handle = runtime::spawn(async { "hello from a task" });
///     println!("{}", handle.await.expect("the task panicked"));
/// }
/// ```
///
/// One thread only, as with gevent:
///
/// ```ignore
/// #[runtime::main(flavor = "current_thread")]
/// async fn main() {
///     runtime::yield_now().await;
/// }
/// ```
///
/// Tasks that are not `Send`, on a `LocalRuntime`:
///
/// ```ignore
/// #[runtime::main(flavor = "local")]
/// async fn main() {
///     let shared = std::rc::Rc::new(std::cell::Cell::new(0));
///     let task = runtime::spawn_local({
///         let shared = shared.clone();
///         async move { shared.set(1) }
///     });
///     task.await.expect("the local task panicked");
///     assert_eq!(shared.get(), 1);
/// }
/// ```
///
/// A fixed pool, and a `Result` returned from `main`:
///
/// ```ignore
/// #[runtime::main(worker_threads = 4)]
/// async fn main() -> std::io::Result<()> {
///     let read = runtime::spawn_blocking(|| std::fs::read("Cargo.toml"));
///     let bytes = read.await.expect("the blocking task panicked")?;
///     println!("{} bytes", bytes.len());
///     Ok(())
/// }
/// ```
///
/// The function must be `async` and take no arguments; anything else, or an unknown or
/// ill-typed option, is a compile error pointing at the offending token.
///
/// # Panics
///
/// The generated function panics if the runtime cannot be built (the operating system
/// refused a thread or the IO driver), and when called from inside a runtime.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a runtime of its own.
///
/// Adds `#[test]` itself (writing it as well is an error), so the function is a test
/// that builds a fresh runtime, blocks on its body and drops the runtime afterwards.
/// The return type is kept: a test may return `Result<(), E>`. Other attributes such as
/// `#[should_panic]` and `#[ignore]` work as on any test.
///
/// # Options
///
/// - `flavor = "current_thread"` (the default): every task runs on the test's thread.
/// - `flavor = "multi_thread"`: a work-stealing pool with one worker per core, or
///   `worker_threads = N` of them.
/// - `flavor = "local"`: as current_thread, on a `LocalRuntime`, so futures that are not
///   `Send` can be spawned with `runtime::spawn_local`.
/// - `worker_threads = N`: the number of workers, at least 1; needs
///   `flavor = "multi_thread"`.
/// - `start_paused = true`: the runtime's clock starts paused (`runtime::time::pause`), so
///   timers complete as soon as the test has nothing else to do, at their exact virtual
///   deadline; current_thread only. Default `false`.
/// - `crate = "path"`: where to find the `runtime` crate when it is renamed
///   (default `::runtime`).
///
/// # Examples
///
/// ```ignore
/// #[runtime::test]
/// async fn spawned_task_runs() {
///     let value = runtime::spawn(async { 1 + 1 }).await.expect("the task panicked");
///     assert_eq!(value, 2);
/// }
///
/// #[runtime::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn runs_on_two_workers() -> Result<(), runtime::task::JoinError> {
///     assert_eq!(runtime::Handle::current().metrics().workers, 2);
///     runtime::spawn(async {}).await
/// }
///
/// #[runtime::test(start_paused = true)]
/// async fn an_hour_passes_at_once() {
///     let start = runtime::time::Instant::now();
///     runtime::time::sleep(std::time::Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), std::time::Duration::from_secs(3600));
/// }
/// ```
///
/// The function must be `async` and take no arguments; anything else, or an unknown or
/// ill-typed option, is a compile error pointing at the offending token.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

// ===== options =====

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "`#[runtime::main]`",
            Kind::Test => "`#[runtime::test]`",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
    /// A current-thread `LocalRuntime`.
    Local,
}

/// The runtime the generated function builds.
struct Config {
    flavor: Flavor,
    worker_threads: Option<usize>,
    start_paused: bool,
    /// The `crate` option, if given.
    crate_path: Option<syn::Path>,
}

const OPTIONS: &str = "`flavor`, `worker_threads`, `start_paused` and `crate`";
const FLAVOR_USAGE: &str =
    "`flavor = \"multi_thread\"`, `flavor = \"current_thread\"` or `flavor = \"local\"`";
const WORKER_THREADS_USAGE: &str = "an integer literal of at least 1, as in `worker_threads = 4`";
const START_PAUSED_USAGE: &str = "`true` or `false`, as in `start_paused = true`";
const CRATE_USAGE: &str = "a path in a string, as in `crate = \"my_runtime\"`";

/// Compile errors gathered so that one expansion reports all of them at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }
}

/// Parses the attribute's options. An option in error is reported and replaced by its
/// default, so the function can still be expanded into something close to the intent.
fn parse_config(kind: Kind, args: TokenStream2, errors: &mut Errors) -> Config {
    let mut config = Config {
        flavor: kind.default_flavor(),
        worker_threads: None,
        start_paused: false,
        crate_path: None,
    };
    let options = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(options) => options,
        Err(error) => {
            errors.push(error);
            return config;
        }
    };

    let mut seen: Vec<String> = Vec::new();
    let mut flavor_given = false;
    // Span of the `worker_threads` name, for the error if the flavor turns out to be
    // current_thread (the flavor may come after it).
    let mut worker_threads_name = None;
    // Likewise for `start_paused = true`.
    let mut start_paused_name = None;

    for option in options {
        let path = option.path();
        let Some(name) = path.get_ident().map(ToString::to_string) else {
            errors.push(unknown_option(path, &path.to_token_stream().to_string()));
            continue;
        };
        if !matches!(
            name.as_str(),
            "flavor" | "worker_threads" | "start_paused" | "crate"
        ) {
            errors.push(unknown_option(path, &name));
            continue;
        }
        if seen.contains(&name) {
            let message = format!("`{name}` is given more than once");
            errors.push(syn::Error::new_spanned(path, message));
            continue;
        }
        seen.push(name.clone());

        let usage = match name.as_str() {
            "flavor" => FLAVOR_USAGE,
            "worker_threads" => WORKER_THREADS_USAGE,
            "start_paused" => START_PAUSED_USAGE,
            _ => CRATE_USAGE,
        };
        let value = match &option {
            Meta::NameValue(option) => unwrap_group(&option.value),
            _ => {
                let message = format!("`{name}` needs a value: {usage}");
                errors.push(syn::Error::new_spanned(&option, message));
                continue;
            }
        };

        match name.as_str() {
            "flavor" => match value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(lit), ..
                }) => match lit.value().as_str() {
                    "multi_thread" => (config.flavor, flavor_given) = (Flavor::MultiThread, true),
                    "current_thread" => {
                        (config.flavor, flavor_given) = (Flavor::CurrentThread, true);
                    }
                    "local" => (config.flavor, flavor_given) = (Flavor::Local, true),
                    other => {
                        let message = format!(
                            "unknown flavor `{other}`; the flavors are \"multi_thread\", \"current_thread\" and \"local\""
                        );
                        errors.push(syn::Error::new(lit.span(), message));
                    }
                },
                _ => {
                    let message = format!("`flavor` takes a string: {FLAVOR_USAGE}");
                    errors.push(syn::Error::new_spanned(value, message));
                }
            },
            "worker_threads" => {
                let parsed = match value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Int(lit), ..
                    }) => lit.base10_parse::<usize>().ok(),
                    _ => None,
                };
                match parsed {
                    Some(n) if n >= 1 => {
                        config.worker_threads = Some(n);
                        worker_threads_name = Some(path.clone());
                    }
                    _ => {
                        let message = format!("`worker_threads` takes {WORKER_THREADS_USAGE}");
                        errors.push(syn::Error::new_spanned(value, message));
                    }
                }
            }
            "start_paused" => match value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Bool(lit),
                    ..
                }) => {
                    config.start_paused = lit.value;
                    if lit.value {
                        start_paused_name = Some(path.clone());
                    }
                }
                _ => {
                    let message = format!("`start_paused` takes {START_PAUSED_USAGE}");
                    errors.push(syn::Error::new_spanned(value, message));
                }
            },
            _ => match value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(lit), ..
                }) => match lit.parse::<syn::Path>() {
                    Ok(path) => config.crate_path = Some(path),
                    Err(error) => errors.push(error),
                },
                _ => {
                    let message = format!("`crate` takes {CRATE_USAGE}");
                    errors.push(syn::Error::new_spanned(value, message));
                }
            },
        }
    }

    if config.flavor != Flavor::MultiThread {
        if let Some(name) = worker_threads_name {
            let message = if flavor_given {
                "`worker_threads` applies only to the multi_thread flavor; remove it or use `flavor = \"multi_thread\"`".to_owned()
            } else {
                format!(
                    "`worker_threads` applies only to the multi_thread flavor, and {} defaults to current_thread; add `flavor = \"multi_thread\"`",
                    kind.attribute()
                )
            };
            errors.push(syn::Error::new_spanned(name, message));
            config.worker_threads = None;
        }
    }
    if config.flavor == Flavor::MultiThread {
        if let Some(name) = start_paused_name {
            let message = if flavor_given {
                "`start_paused = true` needs the current_thread flavor (a multi_thread runtime's clock can't pause); use `flavor = \"current_thread\"`".to_owned()
            } else {
                format!(
                    "`start_paused = true` needs the current_thread flavor (a multi_thread runtime's clock can't pause), and {} defaults to multi_thread; add `flavor = \"current_thread\"`",
                    kind.attribute()
                )
            };
            errors.push(syn::Error::new_spanned(name, message));
            config.start_paused = false;
        }
    }
    config
}

fn unknown_option(path: &syn::Path, name: &str) -> syn::Error {
    let message = format!("unknown option `{name}`; the options are {OPTIONS}");
    syn::Error::new_spanned(path, message)
}

/// Looks through the invisible groups that `macro_rules!` puts around a `$value:expr`.
fn unwrap_group(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => unwrap_group(&group.expr),
        expr => expr,
    }
}

// ===== the function =====

/// An `fn` item whose body is kept as tokens: the body is handed to rustc unparsed, so
/// a syntax error in it is reported once, by rustc, and large bodies cost nothing here.
struct ItemFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    brace: syn::token::Brace,
    body: TokenStream2,
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        // Inner attributes (`#![allow(..)]`) cannot open the async block the body moves
        // into, so they become outer attributes of the function, as syn would print them.
        for mut attr in content.call(Attribute::parse_inner)? {
            attr.style = AttrStyle::Outer;
            attrs.push(attr);
        }
        let body = content.parse()?;
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            brace,
            body,
        })
    }
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            let error = match syn::parse2::<syn::Item>(item.clone()) {
                // Some other item: say what the attribute applies to rather than what
                // token the parser expected.
                Ok(other) => {
                    let message = format!("{} applies only to an `async fn`", kind.attribute());
                    syn::Error::new_spanned(other, message)
                }
                Err(_) => error,
            };
            let error = error.into_compile_error();
            return quote!(#item #error);
        }
    };

    let mut errors = Errors::default();
    let config = parse_config(kind, args, &mut errors);

    if func.sig.asyncness.is_none() {
        let message = format!(
            "the `async` keyword is missing from the function declaration: {} applies to an `async fn`",
            kind.attribute()
        );
        errors.push(syn::Error::new_spanned(func.sig.fn_token, message));
    }

    // Arguments are an error. They are moved into the body as unreachable bindings, so
    // that the body still type-checks and rustc adds no error of its own about the
    // signature of `main` or of a test.
    let mut argument_bindings = TokenStream2::new();
    if !func.sig.inputs.is_empty() {
        let message = format!("{} functions take no arguments", kind.attribute());
        errors.push(syn::Error::new_spanned(&func.sig.inputs, message));
        let inputs = std::mem::take(&mut func.sig.inputs);
        for input in inputs {
            match input {
                FnArg::Typed(arg) => {
                    let (attrs, pat, ty) = (arg.attrs, arg.pat, arg.ty);
                    argument_bindings.extend(quote! {
                        #(#attrs)* let #pat: #ty = ::core::unreachable!();
                    });
                }
                receiver @ FnArg::Receiver(_) => func.sig.inputs.push(receiver),
            }
        }
    }

    if kind == Kind::Test {
        func.attrs.retain(|attr| {
            let is_test = is_test_attribute(attr);
            if is_test {
                let message = "the `#[test]` attribute is added by `#[runtime::test]`; remove it";
                errors.push(syn::Error::new_spanned(attr, message));
            }
            !is_test
        });
    }

    let mut tokens = generate(kind, func, &config, argument_bindings);
    if let Some(error) = errors.0 {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

fn generate(
    kind: Kind,
    func: ItemFn,
    config: &Config,
    argument_bindings: TokenStream2,
) -> TokenStream2 {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        brace,
        body,
    } = func;
    sig.asyncness = None;

    // The generated call stretches over the body's last statement, with the macro's own
    // hygiene: a type mismatch between the body and the return type then points at the
    // statement that produced the value, while lints still see the call as macro output.
    let (start, end) = last_statement_span(&body).unwrap_or_else(|| {
        let close = brace.span.close();
        (close, close)
    });
    let start = Span::call_site().located_at(start);
    let end = Span::call_site().located_at(end);

    // A path given with `crate` keeps the string's location, where an unresolved path
    // is best reported.
    let crate_path = match &config.crate_path {
        Some(path) => path.to_token_stream(),
        None => quote_spanned!(start=> ::runtime),
    };
    let builder = match config.flavor {
        Flavor::MultiThread => quote_spanned!(start=> new_multi_thread),
        Flavor::CurrentThread | Flavor::Local => quote_spanned!(start=> new_current_thread),
    };
    let build = match config.flavor {
        Flavor::Local => quote_spanned!(start=> build_local),
        Flavor::MultiThread | Flavor::CurrentThread => quote_spanned!(start=> build),
    };
    let worker_threads = config.worker_threads.map(|n| {
        let n = Literal::usize_unsuffixed(n);
        quote_spanned!(start=> .worker_threads(#n))
    });
    let start_paused = config
        .start_paused
        .then(|| quote_spanned!(start=> .start_paused(true)));

    // The bindings that stand for the arguments diverge; the body after them is then
    // unreachable, which is not worth a warning beside the error.
    let allow_unreachable = (!argument_bindings.is_empty())
        .then(|| quote!(#[allow(unreachable_code, unused_variables, unused_mut)]));

    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));

    let mut tokens = TokenStream2::new();
    for attr in attrs {
        attr.to_tokens(&mut tokens);
    }
    // After the user's attributes, so that attribute macros listed below ours see it.
    tokens.extend(test_attr);
    vis.to_tokens(&mut tokens);
    sig.to_tokens(&mut tokens);
    brace.surround(&mut tokens, |tokens| {
        tokens.extend(quote! {
            #allow_unreachable
            let body = async move {
                #argument_bindings
                #body
            };
        });
        // The explicit `return` lets the attributes apply to a statement.
        let runtime = quote_spanned! {start=>
            #crate_path::Builder::#builder()
                #worker_threads
                #start_paused
                .#build()
                .expect("failed to build the runtime")
        };
        tokens.extend(quote_spanned! {end=>
            #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
            {
                return #runtime.block_on(body);
            }
        });
    });
    tokens
}

/// The locations of the first and last tokens of the body's last statement, found by
/// looking for the last `;` outside any group (no need to parse the body for that).
fn last_statement_span(body: &TokenStream2) -> Option<(Span, Span)> {
    let tokens: Vec<TokenTree> = body.clone().into_iter().collect();
    let last = tokens.last()?;
    let is_semi = |token: &TokenTree| matches!(token, TokenTree::Punct(p) if p.as_char() == ';');
    // A trailing `;` belongs to the last statement: look for the one before it.
    let before_last = &tokens[..tokens.len() - 1];
    let start = before_last
        .iter()
        .rposition(is_semi)
        .map_or(0, |semi| semi + 1);
    Some((tokens[start].span(), last.span()))
}

/// Whether `attr` is the built-in `#[test]`, spelled `test` or
/// `[::]{core,std}::prelude::*::test`.
fn is_test_attribute(attr: &Attribute) -> bool {
    let Meta::Path(path) = &attr.meta else {
        return false;
    };
    if path
        .segments
        .iter()
        .any(|segment| !segment.arguments.is_none())
    {
        return false;
    }
    let names: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    match names.as_slice() {
        [test] => path.leading_colon.is_none() && test == "test",
        [root, prelude, _, test] => {
            (root == "core" || root == "std") && prelude == "prelude" && test == "test"
        }
        _ => false,
    }
}
