module example.com/armlet/go-app

go 1.19
