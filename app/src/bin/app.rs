//! The browser app's main thread: mounts the Leptos UI, which spawns the inference worker.

fn main() {
    tiller_app::run_static_constructors();
    // A panic shows its message in the console instead of "unreachable executed".
    console_error_panic_hook::set_once();
    tiller_app::ui::register_service_worker();
    leptos::mount::mount_to_body(tiller_app::ui::App);
}
