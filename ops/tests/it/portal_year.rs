//! The demo province in the browser, as a new user meets it after
//! `hoso demo --serve`: every login the demo prints logs in with the password
//! it prints and lands on a page of its own, with no console error.
//!
//! The year's work of each role on the same province is walked in the
//! `portal_year_*` files; this one proves the ground they stand on (the demo's
//! printed logins are the ones that work).

use crate::support::browser::Browser;
use crate::support::demo::Demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_printed_demo_login_reaches_its_home_page() {
    let Some(mut b) = Browser::start("the portal's demo-province browser tests").await else {
        return;
    };
    let demo = Demo::serve();
    // The sync account is a machine's (`hoso sync pull --user`); it has no pages.
    for user in [
        "snv.hethong",
        "snv.quantri",
        "snv.giamdoc",
        "snv.tccb",
        "bvdk.giamdoc",
        "bvdk.tccb",
        "syt.phogiamdoc",
        "thanhtra.kiemtra",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([demo.login_as("personal account of").username.clone()])
    {
        let login = demo.login(&user);
        b.log_in(demo.base(), &login.username, &login.password)
            .await;
        let url = b.client.current_url().await.unwrap();
        assert_ne!(
            url.path(),
            "/password",
            "{user}: the demo's password is the holder's own"
        );
        b.wait_for("main h1").await;
        let who = b.text("nav .who").await;
        assert!(
            !who.trim().is_empty(),
            "{user}: the navigation names who is logged in"
        );
        b.no_errors(&format!("{user}'s home page")).await;
        b.log_out().await;
    }
    b.close().await;
}
