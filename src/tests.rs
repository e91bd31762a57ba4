use pgrx::prelude::*;

#[pg_test]
fn show_deleted_is_false_by_default() {
    assert_eq!(Spi::get_one::<bool>("SELECT softdelete._show_deleted()"), Ok(Some(false)));
}
