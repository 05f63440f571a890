module github.com/secretgate/secretgate

go 1.26.8
