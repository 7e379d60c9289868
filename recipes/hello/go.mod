module armlet.example/hello

go 1.19
