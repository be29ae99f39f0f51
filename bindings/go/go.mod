module github.com/coalmine-rs/coalmine/bindings/go

go 1.24
