//! The smallest Typst world a report needs: one main source (the report template), one
//! data file (the report's content as JSON), and the fonts the product ships. Nothing is
//! read from disk or fetched from the network; packages are not available.

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The fonts compiled into the binary: Noto Sans (Latin) and Noto Sans Hebrew, regular
/// and bold, under the SIL Open Font License (`crates/sixmin-report/fonts/OFL.txt`).
const FONTS: [&[u8]; 4] = [
    include_bytes!("../../fonts/NotoSans-Regular.ttf"),
    include_bytes!("../../fonts/NotoSans-Bold.ttf"),
    include_bytes!("../../fonts/NotoSansHebrew-Regular.ttf"),
    include_bytes!("../../fonts/NotoSansHebrew-Bold.ttf"),
];

/// The name the template reads its data from.
pub const DATA_FILE: &str = "data.json";

/// A report template with its data.
pub struct ReportWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    data_id: FileId,
    data: Bytes,
}

fn file_id(path: &str) -> FileId {
    // Both paths are fixed, valid relative paths.
    let vpath = VirtualPath::new(path).unwrap_or_else(|_| unreachable!());
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

impl ReportWorld {
    /// A world compiling `template` with `data` readable as [`DATA_FILE`].
    pub fn new(template: &str, data: Vec<u8>) -> Self {
        let fonts: Vec<Font> = FONTS
            .iter()
            .flat_map(|bytes| Font::iter(Bytes::new(*bytes)))
            .collect();
        ReportWorld {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            main: Source::new(file_id("report.typ"), template.to_owned()),
            data_id: file_id(DATA_FILE),
            data: Bytes::new(data),
        }
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.text().to_owned()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // Reports never ask for "today": their dates come from the data.
        None
    }
}
