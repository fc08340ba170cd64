"""The night's stages in data order: discover → land → layout → standardise → validate → load →
indicators → snapshot → drift → alerts → report → deliver. File names are numbered so the folder reads in that order."""
